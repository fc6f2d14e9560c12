#pragma once
// A projection's synapses, stored contiguously by source neuron and, within a
// source, by delay (compressed sparse rows).  A spike of source s walks, for
// each of its delay groups, one contiguous block of (target, weight): one queue
// entry per (spike, delay group), never one per synapse.
#include <cassert>
#include <cstdint>
#include <string>
#include <vector>

#include "network/spec.hpp"
#include "plasticity/plastic_synapses.hpp"
#include "plasticity/voltage_slope.hpp"
#include "sim/time.hpp"

namespace spikeem {

struct DelayGroup {
    Tick delay;  // axonal + dendritic: from the spike to the soma of the target
    std::uint32_t begin;  // first synapse; the group ends where the next one begins
};

class Projection {
public:
    // Build the synapses.  source_size / target_size are the full population
    // sizes; the spec's ranges select sub-populations.  Deterministic in
    // (seed, projection name): other projections never shift its draws.
    Projection(const ProjectionSpec& spec, std::uint32_t index, std::uint32_t source_pop, std::uint32_t target_pop,
               std::uint32_t source_size, std::uint32_t target_size, bool same_population, const TimeBase& time,
               std::uint64_t seed);

    // The transpose of `partner` (spec.transpose_of): the partner's pairs
    // reversed, its weights copied, delays drawn from this spec (keyed by this
    // projection's name).  Call tie() on both once they have their final
    // addresses, so that a weight change on either side reaches the other.
    Projection(const ProjectionSpec& spec, std::uint32_t index, std::uint32_t source_pop, std::uint32_t target_pop,
               std::uint32_t source_size, std::uint32_t target_size, const Projection& partner, const TimeBase& time,
               std::uint64_t seed);
    // Both directions share one weight per pair from now on: every update of a
    // synapse's weight (by its voltage rule) is copied to its twin.
    static void tie(Projection& a, Projection& b);
    bool tied() const { return !twin_.empty(); }

    const std::string& name() const { return name_; }
    std::uint32_t index() const { return index_; }
    std::uint32_t source_population() const { return source_pop_; }
    std::uint32_t target_population() const { return target_pop_; }
    std::size_t num_synapses() const { return targets_.size(); }
    Tick dendritic_delay() const { return dendritic_; }

    // Delay groups of source neuron s: groups()[group_begin(s) .. group_begin(s+1)).
    std::uint32_t group_begin(std::uint32_t s) const { return row_[s]; }
    std::uint32_t group_end(std::uint32_t s) const { return row_[s + 1]; }
    const DelayGroup& group(std::uint32_t g) const { return groups_[g]; }
    std::uint32_t group_size(std::uint32_t g) const { return groups_[g + 1].begin - groups_[g].begin; }

    const std::uint32_t* targets() const { return targets_.data(); }
    // Weights.  A static projection whose synapses all carry the same weight
    // stores it once (4 B per synapse instead of 12): the delivery of a block
    // then reads the same value for every synapse of it.
    const double* block_weights(std::uint32_t begin) const {
        return shared_weight_ ? weights_.data() : weights_.data() + begin;
    }
    double weight(std::uint32_t k) const { return weights_[shared_weight_ ? 0 : k]; }
    bool shared_weight() const { return shared_weight_; }
    std::size_t weight_bytes() const { return weights_.size() * sizeof(double); }
    // Per-synapse weights, for the rules that read them (never a shared weight: rules learn).
    const double* weights() const {
        assert(!shared_weight_);
        return weights_.data();
    }

    // Plasticity.  Synapse-side events are handed over d_den late (when the
    // PSP reaches the soma, and when a post spike has gone to the synapse and
    // d_den more), which shifts them all equally and so keeps their order
    // exact: the rule sees synapse times, event time - d_den.
    bool plastic() const { return plasticity_ != nullptr; }  // a spike-pair (trace) rule
    void plasticity_state_per_synapse() {
        if (plasticity_) plasticity_->state_per_synapse();
    }
    bool learns() const { return plasticity_ != nullptr || voltage_rule_ != nullptr; }  // any rule
    // Synapses [begin, begin + n) of delay group `group` (all of it, or the
    // part whose targets one partition owns) see a presynaptic arrival.
    void pre_arrival(Tick event_t, std::uint32_t group, std::uint32_t begin, std::uint32_t n) {
        plasticity_->on_pre(event_t - dendritic_, group, begin, n, weights_.data(), targets_.data());
    }
    void post_arrival(Tick event_t, std::uint32_t post) {
        plasticity_->on_post(event_t - dendritic_, post, weights_.data());
    }
    // Bytes of spike-pair plasticity state (0 if none), for the benchmarks.
    std::size_t plasticity_bytes() const { return plasticity_ ? plasticity_->storage_bytes() : 0; }
    // When a postsynaptic spike at t must be handed to post_arrival.
    Tick post_arrival_time(Tick spike_t) const { return spike_t + 2 * dendritic_; }

    // The voltage-slope rule (Eq. 1), if this projection has it; see
    // plasticity/voltage_slope.hpp for the event flow.  Event times are soma
    // times (synapse time + d_den): the rule reads the soma voltage.  The
    // Simulation runs copies of it, one per partition (its FIFOs follow the
    // arrivals at the partition's own targets); this one is their prototype.
    const VoltageSlopeSynapses* voltage_rule() const { return voltage_rule_.get(); }
    // Weights for the rules that change them (the owner of each synapse's target writes it).
    double* mutable_weights() {
        assert(!shared_weight_);
        return weights_.data();
    }

private:
    struct RawSynapse {
        std::uint32_t src, tgt;
        Tick delay;
        double w;
    };
    // Fill the CSR arrays from synapses sorted by (source, delay, target).
    void fill(const std::vector<RawSynapse>& raw, std::uint32_t source_size);
    void make_rule(const ProjectionSpec& spec, const TimeBase& time, std::uint32_t target_size);
    // Static projections with one weight for all synapses keep it once.
    void share_equal_weights();

    std::string name_;
    std::uint32_t index_, source_pop_, target_pop_;
    std::vector<std::uint32_t> row_;    // per source neuron + 1: first delay group
    std::vector<DelayGroup> groups_;    // + a sentinel whose begin = number of synapses
    std::vector<std::uint32_t> targets_;
    std::vector<double> weights_;
    Tick dendritic_ = 0;
    std::unique_ptr<Plasticity> plasticity_;
    std::unique_ptr<VoltageSlopeSynapses> voltage_rule_;
    std::vector<std::uint32_t> twin_;  // tied: the index of each synapse's twin in the partner
    // weights_ holds one weight, repeated for the largest block (block_weights), not one per synapse.
    bool shared_weight_ = false;
};

}  // namespace spikeem
