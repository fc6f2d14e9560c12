#pragma once
// A Simulation: the network built from a NetworkSpec (network.hpp), the
// partitions that run it (partition.hpp), and the recorders watching it
// (recorders.hpp).  Self-contained: any number can live in one process.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "network/network.hpp"
#include "network/partition.hpp"
#include "network/recorders.hpp"
#include "network/spec.hpp"
#include "sim/time.hpp"

namespace spikeem {

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
// lookahead is 0 runs in one partition (partitions() tells), and so, by
// default, does a network whose epochs hold too little work to be worth
// splitting (PartitionPlan below).  The partitions
// run on at most `threads` threads (fewer if TBB allows fewer, e.g. under a
// tbb::global_control); the thread count never changes a result.  Cost per
// extra partition: a split delivery block per spike and delay group, one own-
// event handle per neuron of the network (9 bytes), split points per delay group.
// How `threads` becomes a partition count.  Exchanging spikes at every epoch
// end costs about a microsecond or two per partition and epoch, whatever the
// epoch holds, so splitting a network whose epochs hold little work makes it
// slower, not faster.
enum class Partitioning {
    ByWork,  // at most `threads`, fewer when the estimated work per epoch is too small (PartitionPlan)
    Exact,   // `threads` whenever the network can be split at all (resuming a checkpoint, tests, benchmarks)
};

// The partition count a network gets, and why.  The work estimate is a
// function of the spec alone (so the same spec and threads always give the
// same partitions, which a checkpoint records):
//   events per ms = sum over populations of neurons x nominal rate (spikes)
//                 + sum over projections of synapses x the source's nominal rate (synaptic events)
//                 + sum over Poisson inputs of neurons x sources x rate_hz (arrivals)
// with a Poisson source's own rate (the mean of rates_hz, the largest of a
// rate table, rate_hz otherwise), a spike-times source's spikes over the run,
// and kNominalNeuronRateHz for neurons; events per epoch = that x the
// lookahead.  ByWork runs min(threads, events per epoch / kMinEventsPerPartition)
// partitions, at least 1.
struct PartitionPlan {
    static constexpr double kNominalNeuronRateHz = 10.0;
    static constexpr double kMinEventsPerPartition = 2000.0;
    unsigned threads = 1;            // asked for
    std::uint32_t partitions = 1;    // what the simulation runs in
    std::uint32_t by_work = 1;       // what the work estimate allows (1..threads); ByWork runs this
    double events_per_epoch = 0.0;   // the estimate (infinity: no spike ever crosses partitions)
    Tick lookahead = 0;              // ticks; kNever without any projection
    double drive_per_ms = 0.0;       // the estimate's external drive per ms (source spikes and their deliveries; Poisson inputs have their own batches)
    // Why partitions < threads: "" (it is not), "lookahead 0", "tied weights" or "work".
    std::string limit;
};

class Simulation final {
public:
    explicit Simulation(NetworkSpec spec, unsigned threads = 1, Partitioning how = Partitioning::ByWork);
    ~Simulation();
    Simulation(const Simulation&) = delete;
    Simulation& operator=(const Simulation&) = delete;

    // Process every event before `end` (ticks); may be called repeatedly with
    // growing ends to run in chunks.  run() runs to the spec's duration.
    void run_until(Tick end);
    void run() { run_until(duration_ticks()); }

    // Checkpoints.  save_state writes the whole running state between
    // run_until calls: the clock, every queued event, the state of neurons,
    // synapses, rules, inputs and random streams, and what was recorded.
    // load_state reads it into a simulation just built from the same spec
    // with the same partition count (nothing run yet); it then continues
    // exactly as the one that wrote the state would have: the same events,
    // bits and outputs.  A state from another network throws StateMismatch
    // (the simulation is then unusable: build a new one).
    std::string save_state() const;
    void load_state(std::string_view state);

    const NetworkSpec& spec() const { return spec_; }
    const TimeBase& time() const { return time_; }
    Tick duration_ticks() const { return time_.round(spec_.run.duration_ms); }
    Tick now() const { return now_; }
    // Partitions the network runs in (the threads asked for, or fewer, see above).
    std::size_t partitions() const { return parts_.size(); }
    // How that count was chosen (PartitionPlan).
    const PartitionPlan& partition_plan() const { return plan_; }
    // Longest epoch between exchanges of spikes among partitions (ticks).
    Tick lookahead() const { return lookahead_; }

    std::size_t num_populations() const { return net_.num_populations(); }
    const Population& population(std::size_t i) const { return net_.population(i); }
    std::size_t num_projections() const { return net_.num_projections(); }
    const Projection& projection(std::size_t i) const { return net_.projection(i); }

    // Recorded spikes (not drained, see drain_recorded) in the documented
    // output order: time, then population (spec order), then neuron index.
    std::vector<SpikeRecord> sorted_spikes() const { return recorders_.sorted_spikes(); }
    // Voltage samples in order of time, then probe (spec order), then the
    // probe's neuron list order.
    const std::vector<VoltageSample>& voltages() const { return recorders_.voltages(); }
    std::vector<VoltageSample> voltage_rows() const { return recorders_.voltage_rows(); }  // built anew, not kept
    // Voltage probe k's sample times and values (samples x the probe's neurons, row-major), without rows.
    std::vector<Tick> voltage_times(std::size_t k) const { return recorders_.voltage_times(k); }
    const std::vector<double>& voltage_values(std::size_t k) const { return recorders_.voltage_values(k); }
    // Weight samples in order of time, then probe (spec order), then synapse
    // storage order (by pre, then delay, then post).
    const std::vector<WeightSample>& weight_samples() const { return recorders_.weight_samples(); }
    // Rate samples in order of time, then probe (spec order), then the probe's
    // neuron list order.  Count and Exp are functions of the spike times only
    // (reading them changes nothing); Model reads rho(V(t)) like a voltage
    // probe, so on a noisy stochastic neuron it draws the noise up to t.
    const std::vector<RateSample>& rate_samples() const { return recorders_.rate_samples(); }
    // Binned rates of the population-rate probes: every whole bin that ends by
    // now() (and by the probe's stop), in order of bin start, then probe (spec
    // order).  Sums of integer counts: the same for any partitioning.
    std::vector<PopulationRateSample> population_rates() const { return recorders_.population_rates(now_); }
    // Takes the recorded rows that are final (recorders.hpp, Recorders::drain):
    // the accessors above then hold only later rows.  For writers that stream
    // a long run to files between run_until calls; the rows of successive
    // drains, concatenated, are the tables the accessors would have held.
    // Population-rate bins wait while a bin of another probe that starts
    // before them may still come; with `run_end` (the run's end: the last
    // drain) a bin that would end past it is not waited for.  Drains in
    // between pass none, so that a run continued past its end (a resumed
    // checkpoint) keeps the order.
    RecordedRows drain_recorded(Tick run_end = kNever) { return recorders_.drain(now_, run_end); }
    // Bytes of recorded rows held in memory (spikes and samples).
    std::size_t recorded_bytes() const { return recorders_.held_bytes(); }
    // Rows the probes of one kind will record in [from, to).
    std::uint64_t sample_rows(SampleKind kind, Tick from, Tick to) const {
        return recorders_.sample_rows(kind, from, to);
    }
    // Current weights of every synapse of a projection, in storage order, with (pre, post).
    std::vector<WeightSample> weights_now(std::size_t projection) const { return weights_of(net_, projection, now_); }

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
        return net_.population(population).observe_voltage_mV(neuron, now_);
    }

    // Per-update log of a voltage-slope projection (off by default), in the
    // order the updates were applied (serial order: by arrival time, then synapse).
    void enable_slope_log(std::size_t projection);
    const std::vector<SlopeUpdate>& slope_log(std::size_t projection) const;

    PopulationSummary summary(std::size_t population) const { return recorders_.summary(net_, population, now_); }
    std::uint64_t events_processed() const;
    std::uint64_t synaptic_events() const;

private:
    // The partition count for `threads`: 1 when some effect of a spike is due
    // at its own tick (lookahead 0) or a tied pair's weight is written from
    // both directions' targets; with ByWork also fewer when epochs hold little work.
    PartitionPlan plan_partitions(unsigned threads, Partitioning how) const;
    void start();               // initial events of sweeps, recorders and populations
    void run_epochs(Tick end);  // several partitions: epochs from now_ to end
    void rebase_at(Tick t);     // every population due at t; all events before t are done
    // Per-partition rule logs of this run_until call, merged into slope_logs_ in serial order.
    void merge_rule_logs();

    NetworkSpec spec_;
    TimeBase time_;
    Network net_;
    Tick lookahead_;
    PartitionPlan plan_;
    PartitionLayout layout_;
    Recorders recorders_;
    std::vector<std::unique_ptr<Partition>> parts_;
    // Populations with a shared reference time (Population::rebase_period):
    // per population its next multiple of the period, kNever for none.
    std::vector<Tick> next_rebase_;
    unsigned parity_ = 0;  // which of the partitions' two outboxes the next epoch writes
    Tick now_ = 0;
    std::vector<std::vector<SlopeUpdate>> slope_logs_;  // per projection, merged (several partitions only)
};

}  // namespace spikeem
