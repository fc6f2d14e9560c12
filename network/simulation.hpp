#pragma once
// A Simulation: the network built from a NetworkSpec, its event queue, and the
// recorders watching it.  Self-contained: any number can live in one process.
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "network/population.hpp"
#include "network/projection.hpp"
#include "network/spec.hpp"
#include "sim/event_queue.hpp"
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

class Partition;

// Parallel runs (`threads` > 1).  The neurons of every population are split
// into `threads` contiguous chunks, one per partition; a partition owns its
// neurons' state, their own events, the deliveries to them (the part of each
// delay group whose targets it owns: targets are sorted within a group, so
// that part is contiguous), the plasticity state of their incoming synapses,
// the voltage-rule FIFOs for them and its share of every recorder.  Within an
// epoch no longer than the lookahead (the smallest delay from a spike to
// anything another partition does with it: the minimum synaptic delay, less
// the window of central-difference voltage rules) no partition can affect
// another, so partitions advance in parallel (oneTBB) and exchange spikes at
// epoch ends.  Every neuron sees exactly the serial sequence of events (the
// event key is total), so results are bit-identical for any thread count,
// and recorded samples are merged by their serial order.  A network whose
// lookahead is 0 runs in one partition (partitions() tells).  The partitions
// run on at most `threads` threads (fewer if TBB allows fewer, e.g. under a
// tbb::global_control); the thread count never changes a result.  Cost per
// extra partition: a split delivery block per spike and delay group, one own-
// event handle per neuron of the network (9 bytes), split points per delay group.
class Simulation final {
public:
    explicit Simulation(NetworkSpec spec, unsigned threads = 1);
    ~Simulation();
    Simulation(const Simulation&) = delete;
    Simulation& operator=(const Simulation&) = delete;

    // Process every event before `end` (ticks); may be called repeatedly with
    // growing ends to run in chunks.  run() runs to the spec's duration.
    void run_until(Tick end);
    void run() { run_until(duration_ticks()); }

    const NetworkSpec& spec() const { return spec_; }
    const TimeBase& time() const { return time_; }
    Tick duration_ticks() const { return time_.round(spec_.run.duration_ms); }
    Tick now() const { return now_; }
    // Partitions the network runs in (the threads asked for, or 1, see above).
    std::size_t partitions() const { return parts_.size(); }
    // Longest epoch between exchanges of spikes among partitions (ticks).
    Tick lookahead() const { return lookahead_; }

    std::size_t num_populations() const { return populations_.size(); }
    const Population& population(std::size_t i) const { return *populations_[i]; }
    std::size_t num_projections() const { return projections_.size(); }
    const Projection& projection(std::size_t i) const { return projections_[i]; }

    // Recorded spikes in the documented output order: time, then population
    // (spec order), then neuron index.
    std::vector<SpikeRecord> sorted_spikes() const;
    // Voltage samples in order of time, then probe (spec order), then the
    // probe's neuron list order.
    const std::vector<VoltageSample>& voltages() const { return voltages_; }
    // Weight samples in order of time, then probe (spec order), then synapse
    // storage order (by pre, then delay, then post).
    const std::vector<WeightSample>& weight_samples() const { return weight_samples_; }
    // Rate samples in order of time, then probe (spec order), then the probe's
    // neuron list order.  Count and Exp are functions of the spike times only
    // (reading them changes nothing); Model reads rho(V(t)) like a voltage
    // probe, so on a noisy stochastic neuron it draws the noise up to t.
    const std::vector<RateSample>& rate_samples() const { return rate_samples_; }
    // Current weights of every synapse of a projection, in storage order, with (pre, post).
    std::vector<WeightSample> weights_now(std::size_t projection) const;

    // ---- control, for experiment drivers that run a simulation in phases

    // Scale the learning rate of a voltage-slope projection from now on (0: off).
    void set_plasticity_gain(std::size_t projection, double gain);
    // Set the drive (mV) of one neuron of a stochastic population from now()
    // on; the state up to now() is integrated with the old drive.
    void set_drive(std::size_t population, std::uint32_t neuron, double drive_mV);
    // Set the rate (Hz) of one neuron of a constant-rate Poisson population from now() on.
    void set_rate(std::size_t population, std::uint32_t neuron, double rate_hz);
    // The voltage of a neuron now (advancing a noisy neuron, see observe_voltage_mV).
    double observe_voltage(std::size_t population, std::uint32_t neuron) {
        return populations_[population]->observe_voltage_mV(neuron, now_);
    }

    // Per-update log of a voltage-slope projection (off by default), in the
    // order the updates were applied (serial order: by arrival time, then synapse).
    void enable_slope_log(std::size_t projection);
    const std::vector<SlopeUpdate>& slope_log(std::size_t projection) const;

    PopulationSummary summary(std::size_t population) const;
    std::uint64_t events_processed() const;
    std::uint64_t synaptic_events() const;

private:
    friend class Partition;
    friend class StartRouter;
    // Partition owning neuron `local` of population `population`.
    std::uint32_t owner(std::uint32_t population, std::uint32_t local) const;
    std::uint32_t population_of(std::uint32_t global) const;
    void run_epochs(Tick end);  // several partitions: epochs from now_ to end
    // Move what the partitions recorded since the last call into the outputs, in serial order.
    void collect();

    struct Probe {
        std::uint32_t population;
        std::vector<std::uint32_t> neurons;
        Tick interval;
    };
    // Count/Exp state per slot (a distinct probed neuron); spikes reach it
    // through rate_in_, so a population nobody reads costs one empty loop.
    // A slot is only touched by the partition owning its neuron.
    struct RateProbe {
        std::uint32_t population;
        std::vector<std::uint32_t> neurons;  // output order
        Tick interval;
        RateReadout readout;
        Tick window;    // Count, ticks
        double tau_ms;  // Exp
        std::vector<std::uint32_t> slot;  // per neuron of the population (empty: slot = neuron)
        std::vector<std::deque<Tick>> recent;  // Count: spike times >= (last time seen) - window
        std::vector<double> trace;             // Exp: x just before trace_t
        std::vector<Tick> trace_t;             // Exp: time of the last spike
        std::vector<std::uint32_t> trace_n;    // Exp: spikes at trace_t
    };
    void rate_spike(RateProbe& probe, std::uint32_t neuron, Tick t);
    double rate_read(RateProbe& probe, std::uint32_t neuron, Tick t);

    struct WeightProbe {
        std::uint32_t projection;
        std::vector<std::uint32_t> synapses, pre, post;
        Tick interval;
    };

    NetworkSpec spec_;
    TimeBase time_;
    std::vector<std::unique_ptr<Population>> populations_;
    std::vector<std::uint32_t> offsets_;  // global index of each population's neuron 0, + total
    std::vector<Projection> projections_;
    std::vector<std::vector<std::uint32_t>> outgoing_;  // per population: projection indices
    std::vector<std::vector<std::uint32_t>> plastic_in_;  // per population: incoming plastic projections
    std::vector<bool> record_spikes_;                   // per population
    std::vector<Probe> probes_;
    std::vector<WeightProbe> weight_probes_;
    std::vector<RateProbe> rate_probes_;
    std::vector<std::vector<std::uint32_t>> rate_in_;  // per population: Count/Exp probes its spikes feed

    // Partitioning (one partition: split_ unused, bounds_ one chunk per population).
    std::vector<std::unique_ptr<Partition>> parts_;
    std::vector<std::vector<std::uint32_t>> bounds_;  // per population: first local neuron of each partition, + size
    // Per projection, per delay group g, per partition q: the first synapse of
    // the group whose target q owns, at split_[j][g * (P + 1) + q] (q = P: the group's end).
    std::vector<std::vector<std::uint32_t>> split_;
    // Populations with a shared reference time (Population::rebase_period):
    // per population its next multiple of the period, kNever for none.
    std::vector<Tick> next_rebase_;
    void rebase_at(Tick t);  // every population due at t; all events before t are done
    Tick lookahead_ = kNever;
    unsigned parity_ = 0;  // which of the partitions' two outboxes the next epoch writes
    Tick now_ = 0;

    std::vector<SpikeRecord> spikes_;
    std::vector<VoltageSample> voltages_;
    std::vector<WeightSample> weight_samples_;
    std::vector<RateSample> rate_samples_;
    std::vector<std::vector<SlopeUpdate>> slope_logs_;  // per projection, merged (several partitions only)
    // Per neuron inter-spike interval statistics (Welford); written only by the owner partition.
    // (One struct per neuron: a spike touches all of it, one cache line, not four.)
    struct IsiStats {
        Tick last = -1;  // last spike, -1 before the first
        double mean = 0.0, m2 = 0.0;
        std::uint32_t n = 0;
    };
    std::vector<IsiStats> isi_;
};

}  // namespace spikeem
