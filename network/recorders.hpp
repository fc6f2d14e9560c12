#pragma once
// What a run records: spikes (whole populations, or chosen neurons in a
// window), voltage, weight and rate probes, binned population rates, per-neuron
// spike statistics.  The engine talks to the recorders through a narrow
// interface: a spike (on_spike), a sample event (sample), the end of a
// run_until call (collect).
//
// Rows that collect() has committed are final and in output order; drain()
// takes them out (a writer streams them to files as the run goes) and the
// accessors below then hold only what came after.  Drivers that never drain
// keep every row in memory.
//
// Partitions.  Every partition q records what happens at the neurons it owns
// (synapses: by target) into its own Share; collect() merges the shares into
// the outputs in the serial order, so that outputs do not depend on the
// partitioning.  Rate-probe state and spike statistics of a neuron are written
// only by its owner; population-rate bins are counted per partition and
// summed.  With one partition, samples go straight into the outputs (the run
// loop takes them in the serial order).  Voltage samples always do: each has
// its place in its probe's values, which every partition writes in place.
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "network/network.hpp"
#include "network/spec.hpp"
#include "sim/event_queue.hpp"
#include "sim/huge_pages.hpp"
#include "sim/state.hpp"
#include "sim/time.hpp"

namespace spikeem {

struct SpikeRecord {
    Tick t;
    std::uint32_t population;
    std::uint32_t neuron;
};

struct VoltageSample {
    Tick t;
    std::uint32_t population;
    std::uint32_t neuron;
    double v_mV;
    std::uint32_t probe = 0;  // index in spec().record.voltages
};

// A firing-rate read-out (RateProbeSpec) of one neuron.
struct RateSample {
    Tick t;
    std::uint32_t probe;  // index in spec().record.rates
    std::uint32_t population;
    std::uint32_t neuron;
    RateReadout readout;
    double rate_hz;
};

struct WeightSample {
    Tick t;
    std::uint32_t projection;
    std::uint32_t pre, post;  // indices within the source and target populations
    double w;
    std::uint32_t probe = UINT32_MAX;  // index in spec().record.weights; UINT32_MAX: not from a probe
};

struct PopulationSummary {
    std::string name;
    std::string model;
    std::uint32_t neurons = 0;
    std::uint64_t spikes = 0;
    double mean_rate_hz = 0.0;
    // Coefficient of variation of inter-spike intervals: std/mean (population
    // std, ddof 0) per neuron with at least 2 intervals, averaged over those
    // neurons; absent (has_cv false) when no neuron qualifies.
    bool has_cv = false;
    double mean_cv_isi = 0.0;
    std::uint32_t neurons_with_cv = 0;
};

// The binned spike count of a population-rate probe (PopulationRateProbeSpec):
// bin [t, t + bin) of probe `probe` (index in spec().record.population_rates).
struct PopulationRateSample {
    Tick t;  // bin start
    std::uint32_t probe;
    std::uint32_t population;
    std::uint64_t spikes;  // of the watched neurons in the bin
    double rate_hz;        // spikes * 1000 / (neurons watched * bin_ms)
};

// The committed rows (RecordedRows::bytes) that a writer streaming a run to
// files lets the recorders hold before it drains them: the run goes in pieces
// short enough for that, so memory does not grow with the run's length.
inline constexpr std::size_t kStreamedRowsBytes = std::size_t{4} << 20;

// Rows taken out of the recorders by drain(), each table in output order;
// the rows of a later drain all come after these in that order.
struct RecordedRows {
    std::vector<SpikeRecord> spikes;  // time, then population, then neuron
    std::vector<VoltageSample> voltages;
    std::vector<WeightSample> weight_samples;
    std::vector<RateSample> rate_samples;
    std::vector<PopulationRateSample> population_rates;  // bin start, then probe
    std::size_t bytes() const;  // what the rows take in memory
};

// What a Sample event samples (its aux; also the order of samples of one
// probe index at one tick, after the event key).
enum class SampleKind : std::uint32_t { Voltage = 0, Weight = 1, Rate = 2 };

// The current weights of every synapse of projection j at time t, in storage
// order (by pre, then delay, then post).
std::vector<WeightSample> weights_of(const Network& net, std::size_t j, Tick t);

class Recorders {
public:
    // owner(population, neuron): the partition that owns a neuron.
    using Owner = std::function<std::uint32_t(std::uint32_t population, std::uint32_t neuron)>;
    Recorders(const NetworkSpec& spec, const Network& net, const TimeBase& time, std::uint32_t partitions,
              const Owner& owner);

    // The first sample event of each probe that partition q takes part in (its
    // first multiple of the interval in its window; none for an empty window).
    std::vector<Event> first_samples(std::uint32_t q) const;

    // A spike of `neuron` of population p at t, handled by its owner q.
    void on_spike(std::uint32_t q, std::uint32_t p, std::uint32_t neuron, std::uint32_t global, Tick t);
    // A spike of `global` comes soon: start loading its interval statistics
    // (a cache hint; with many sources they are out of the caches).
    void prefetch_spike(std::uint32_t global) const { __builtin_prefetch(&isi_[global], 1); }
    // Partition q's share of sample event e; returns the probe's next sample
    // event (at kNever after the last one of its window: it never runs).
    Event sample(std::uint32_t q, const Event& e, Network& net);

    // Room for the samples partition shares will take in [now, end), so that
    // buffers do not grow by doubling while running.
    void reserve(Tick now, Tick end);
    // Move what the partitions recorded since the last call into the outputs, in serial order.
    void collect();

    // Takes every committed row that no later row can precede: all spikes and
    // samples, and the whole population-rate bins (by `now`) that start before
    // the first bin still to come of any probe; no bin is to come past
    // `run_end` (the run's end) or a probe's stop.  Drained bins' counts are
    // released, so a long run keeps only the bins under way.
    RecordedRows drain(Tick now, Tick run_end);
    // Bytes of committed rows held (what drain() would take, but for bins).
    std::size_t held_bytes() const;
    // Sample rows of kind `kind` that the probes take in [from, to), summed over partitions.
    std::uint64_t sample_rows(SampleKind kind, Tick from, Tick to) const;

    std::vector<SpikeRecord> sorted_spikes() const;
    // The voltage rows held, in output order (time, then probe, then position
    // in the probe's list).  Held as values alone (voltage_values_), the rows
    // are built at the first call after a change and kept until the next
    // run_until, drain or load_state.
    const std::vector<VoltageSample>& voltages() const;
    // The same rows built anew and not kept (for a caller that converts them at once).
    std::vector<VoltageSample> voltage_rows() const;
    // Voltage probe k's samples held, without rows: their times, and their
    // values sample-major (sample s, position p of the probe's neuron list at
    // s * neurons + p).
    std::vector<Tick> voltage_times(std::size_t k) const;
    const std::vector<double>& voltage_values(std::size_t k) const { return voltage_values_[k].v_mV; }
    const std::vector<WeightSample>& weight_samples() const { return weight_samples_; }
    const std::vector<RateSample>& rate_samples() const { return rate_samples_; }
    // Every whole bin of every population-rate probe that ends by `now` (and by
    // its stop) and was not drained, in order of bin start, then probe.
    std::vector<PopulationRateSample> population_rates(Tick now) const;
    PopulationSummary summary(const Network& net, std::size_t p, Tick now) const;
    // Checkpoints (network/recorder_state.cpp), between run_until calls: what
    // has been recorded and the state of the read-outs (rate traces, spike
    // statistics, bin counts).  Read back into recorders of the same spec and
    // partition count.
    void save_state(StateWriter& w) const;
    void load_state(StateReader& r);

private:
    template <class Sample>
    struct Keyed {  // a sample with its place in the serial order (probe, position in the probe's list)
        std::uint32_t probe, pos;
        Sample s;
    };
    // Partition q's part of every recorder.
    struct Share {
        std::vector<std::vector<std::uint32_t>> vpos, wpos, rpos;  // per probe: positions in its list
        std::vector<SpikeRecord> spikes;
        std::vector<Keyed<WeightSample>> weight_samples;
        std::vector<Keyed<RateSample>> rate_samples;
        std::vector<std::uint64_t> spike_count;  // per population
        std::vector<std::vector<std::uint64_t>> bin_count;  // per population-rate probe: spikes per bin so far
    };
    // When a probe samples: at the multiples of interval in [start, stop).
    struct Grid {
        Tick interval, start, stop;  // stop: kNever for none
        Tick first() const;
        Tick next(Tick t) const;  // kNever after the last
        std::size_t index(Tick t) const { return static_cast<std::size_t>((t - first()) / interval); }  // t on the grid
        std::size_t count(Tick from, Tick to) const;  // samples in [from, to)
    };
    struct VoltageProbe {
        std::uint32_t population;
        std::vector<std::uint32_t> neurons;
        Grid grid;
    };
    // A voltage probe's samples held: the values alone, sample-major (sample s
    // of the grid at [(s - first) * neurons + position]); a row's time,
    // population and neuron follow from the probe.  8 bytes a sample, not a
    // row's 32, and partitions write their positions in place, with nothing to
    // merge.  reserve() sizes the values for every sample before the end of a
    // run_until call, before the partitions run.
    struct VoltageValues {
        std::size_t first = 0;  // grid index of the first sample held (those before were drained)
        std::vector<double> v_mV;
    };
    struct WeightProbe {
        std::uint32_t projection;
        std::vector<std::uint32_t> synapses, pre, post;
        Grid grid;
    };
    // A spike probe or a population-rate probe: which spikes it sees.
    struct SpikeFilter {
        Tick start, stop;           // [start, stop); stop kNever for none
        std::vector<bool> watched;  // per neuron of the population; empty: all
        bool wants(std::uint32_t neuron, Tick t) const {
            return t >= start && t < stop && (watched.empty() || watched[neuron]);
        }
    };
    struct PopulationRateProbe {
        std::uint32_t population;
        SpikeFilter filter;
        Tick bin;
        std::uint32_t neurons;  // watched
    };
    // Count/Exp state per slot (a distinct probed neuron); spikes reach it
    // through rate_in_, so a population nobody reads costs one empty loop.
    struct RateProbe {
        std::uint32_t population;
        std::vector<std::uint32_t> neurons;  // output order
        Grid grid;
        RateReadout readout;
        Tick window;    // Count, ticks
        double tau_ms;  // Exp
        std::vector<std::uint32_t> slot;  // per neuron of the population (empty: slot = neuron)
        std::vector<std::deque<Tick>> recent;  // Count: spike times >= (last time seen) - window
        std::vector<double> trace;             // Exp: x just before trace_t
        std::vector<Tick> trace_t;             // Exp: time of the last spike
        std::vector<std::uint32_t> trace_n;    // Exp: spikes at trace_t
    };
    // Per neuron inter-spike interval statistics (Welford), one cache line per spike.
    struct IsiStats {
        Tick last = -1;  // last spike, -1 before the first
        double mean = 0.0, m2 = 0.0;
        std::uint32_t n = 0;
    };

    void add_voltage_probes(const NetworkSpec& spec, const Network& net, const Owner& owner);
    void add_weight_probes(const NetworkSpec& spec, const Network& net, const Owner& owner);
    void add_rate_probes(const NetworkSpec& spec, const Network& net, const Owner& owner);
    void add_spike_probes(const NetworkSpec& spec, const Network& net);
    void add_population_rate_probes(const NetworkSpec& spec, const Network& net);
    Grid grid(double interval_ms, const RecordWindow& w) const;
    SpikeFilter filter(const RecordWindow& w, std::uint32_t size, const std::vector<std::uint32_t>& neurons) const;
    // Each partition's positions in a probe's neuron list; partition 0 also
    // runs the samples it has no share of, so that it counts every sample event.
    void share(std::vector<std::vector<std::uint32_t>> Share::*pos, std::uint32_t k, SampleKind kind,
               std::uint32_t population, const std::vector<std::uint32_t>& neurons, const Owner& owner);
    template <class Sample>
    void record(std::vector<Keyed<Sample>>& mine, std::vector<Sample>& out, std::uint32_t probe, std::uint32_t pos,
                const Sample& s);
    void rate_spike(RateProbe& probe, std::uint32_t neuron, Tick t);
    double rate_read(RateProbe& probe, Network& net, std::uint32_t neuron, Tick t);
    // Whole bins of population-rate probe k by `now` (and its stop), counted from its start.
    Tick whole_bins(std::uint32_t k, Tick now) const;
    // Undrained bins b < whole[k] of every probe k that start before `before`,
    // in order of bin start, then probe.
    std::vector<PopulationRateSample> bins_before(const std::vector<Tick>& whole, Tick before) const;

    TimeBase time_;
    std::vector<Share> shares_;  // per partition
    std::vector<std::vector<std::pair<std::uint32_t, SampleKind>>> first_;  // per partition: its sample events
    std::vector<bool> record_spikes_;  // per population: all its spikes
    std::vector<std::vector<SpikeFilter>> spike_probes_;  // per population: the spike probes watching it
    std::vector<PopulationRateProbe> population_rate_probes_;
    std::vector<std::vector<std::uint32_t>> population_rate_in_;  // per population: the probes its spikes feed
    std::vector<std::size_t> bin_base_;  // per population-rate probe: bins drained (bin_count[k][i] is bin base + i)
    std::vector<VoltageProbe> voltage_probes_;
    std::vector<WeightProbe> weight_probes_;
    std::vector<RateProbe> rate_probes_;
    std::vector<std::vector<std::uint32_t>> rate_in_;  // per population: Count/Exp probes its spikes feed
    BigVector<IsiStats> isi_;                        // per global neuron (written at random: huge pages when large)

    std::vector<SpikeRecord> spikes_;
    std::vector<VoltageValues> voltage_values_;  // per voltage probe
    // The rows of voltages(), built on demand; `voltage_rows_built_` false once the values change.
    mutable std::vector<VoltageSample> voltage_rows_;
    mutable bool voltage_rows_built_ = false;
    std::size_t voltage_rows_held() const;
    // The time of the s-th sample voltage probe k holds.
    Tick held_time(std::size_t k, std::size_t s) const {
        const Grid& g = voltage_probes_[k].grid;
        return g.first() + static_cast<Tick>(voltage_values_[k].first + s) * g.interval;
    }
    std::vector<WeightSample> weight_samples_;
    std::vector<RateSample> rate_samples_;
};

}  // namespace spikeem
