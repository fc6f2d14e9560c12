#pragma once
// The one seam between a projection and its plasticity rule.
//
// Every rule, whatever it reads (spike pairs, the postsynaptic voltage),
// reaches its synapses through these hooks, which the engine calls from the
// projection (network/projection.hpp):
//   - at each presynaptic arrival, for one delay group's block of synapses
//     (the whole group, or the part whose targets one partition owns):
//     before_transmit() just before the spike's PSP reaches the targets,
//     after_transmit() just after it (the weight transmitted is the one from
//     before any update: transmit first, then learn);
//   - optionally, membrane reads the engine schedules for the rule:
//     read_before() at lead() before an arrival (reads_before_arrival()),
//     on_probe() at probe_delay() after it when after_transmit() asks;
//   - optionally, at each postsynaptic spike reaching the synapses (on_post).
// Times: Arrival::t_soma is when the PSP reaches the soma (the event time),
// t_synapse = t_soma - the dendritic delay is when the spike reached the
// synapse; spike-pair rules use synapse times, voltage rules read the soma.
//
// Partitions.  A rule whose state follows the arrivals at one partition's
// targets in order (per_partition(): FIFOs of pending probes, or presynaptic
// traces kept per delay group, whose targets may span partitions) is cloned,
// one copy per partition.  Any other rule is one object whose per-synapse
// state is written only by the partition owning the synapse's target.  Either
// way results are the same bits.
//
// Adding a rule: its parameters in plasticity/params.hpp (an alternative of
// PlasticitySpec::rule), its class implementing these hooks (a spike-pair
// rule only needs the Rule concept of rules.hpp), its case in make_rule
// (plasticity/make_rule.hpp), its schema message and loader entry in io/.
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

#include "plasticity/membrane.hpp"
#include "sim/state.hpp"
#include "sim/time.hpp"

namespace spikeem {

// One presynaptic spike reaching synapses [begin, begin + n) of delay group `group`.
struct Arrival {
    Tick t_soma;
    Tick t_synapse;
    std::uint32_t group, begin, n;
    double* weights;               // the projection's per-synapse weights (index k)
    const std::uint32_t* targets;  // the projection's per-synapse targets (index k)
    Membrane& post;                // the target population
};

// One weight update a rule made, for analyses that pair it with spikes (rules that log).
struct SlopeUpdate {
    Tick t_arrival;  // synapse time of the presynaptic spike
    std::uint32_t synapse;
    double dw;  // as computed, before clipping to the bounds
};

class SynapseRule {
public:
    virtual ~SynapseRule() = default;

    virtual void before_transmit(const Arrival& a) { (void)a; }
    // Returns true when the rule wants on_probe() at a.t_soma + probe_delay().
    virtual bool after_transmit(const Arrival& a) = 0;

    virtual bool reads_before_arrival() const { return false; }
    virtual Tick lead() const { return 0; }  // how long before an arrival read_before() comes
    // `a` describes the arrival to come, with t_soma = the read time.
    virtual void read_before(const Arrival& a) { (void)a; }
    virtual Tick probe_delay() const { return 0; }
    // The probes of one rule copy come in the order of their arrivals.
    virtual void on_probe(Tick t, double* weights, const std::uint32_t* targets, Membrane& post) {
        (void)t, (void)weights, (void)targets, (void)post;
    }

    virtual bool wants_post_spikes() const { return false; }
    // A spike of postsynaptic neuron `post` reaches its synapses at synapse time t.
    virtual void on_post(Tick t_synapse, std::uint32_t post, double* weights) {
        (void)t_synapse, (void)post, (void)weights;
    }

    virtual bool per_partition() const { return false; }
    virtual std::unique_ptr<SynapseRule> clone() const {
        throw std::logic_error("this plasticity rule cannot be copied per partition");
    }
    // Bytes of rule state held (per-synapse and per-neuron), for the benchmarks.
    virtual std::size_t storage_bytes() const { return 0; }

    // Tied projections (one weight per pair for both directions): after each
    // update of synapse k, copy its weight to twin_weights[twin_index[k]].
    virtual void share_weights_with(double* twin_weights, const std::uint32_t* twin_index) {
        (void)twin_weights, (void)twin_index;
        throw std::logic_error("this plasticity rule cannot update tied weights");
    }
    // Scale the learning rate for arrivals from now on (0: off), where the rule has one to scale.
    virtual void set_gain(double gain) { (void)gain; }
    // A log of every update (off by default), for rules that keep one; null for the others.
    virtual void enable_log(bool on) { (void)on; }
    virtual const std::vector<SlopeUpdate>* log() const { return nullptr; }
    virtual void clear_log() {}
    // Checkpoints: write what running changed (traces, pending reads, gain,
    // log), and read it back into a rule built from the same spec (see
    // Population::save_state).  The weights are the projection's.
    virtual void save_state(StateWriter& w) const = 0;
    virtual void load_state(StateReader& r) = 0;
};

}  // namespace spikeem
