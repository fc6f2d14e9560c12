#pragma once
// A projection's synapses, stored contiguously by source neuron and, within a
// source, by delay (compressed sparse rows).  A spike of source s walks, for
// each of its delay groups, one contiguous block of (target, weight): one queue
// entry per (spike, delay group), never one per synapse.
#include <cassert>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "network/spec.hpp"
#include "plasticity/synapse_rule.hpp"
#include "sim/huge_pages.hpp"
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

    // Plasticity: the rule, if any, reached through one seam (SynapseRule,
    // plasticity/synapse_rule.hpp) for every kind of rule.  Event times are
    // soma times; the rule gets synapse times (event time - d_den) next to
    // them: synapse-side events are handed over d_den late (when the PSP
    // reaches the soma, and when a post spike has gone to the synapse and
    // d_den more), which shifts them all equally and so keeps their order exact.
    bool learns() const { return !rules_.empty(); }
    // A rule that sees postsynaptic spikes (the spike-pair rules): what the
    // benchmarks count as plastic synapses.
    bool plastic() const { return learns() && rules_[0]->wants_post_spikes(); }
    // The rule copy partition q uses (see SynapseRule::per_partition); null without a rule.
    SynapseRule* rule(std::uint32_t q) {
        return rules_.empty() ? nullptr : rules_[rules_.size() == 1 ? 0 : q].get();
    }
    const SynapseRule* rule() const { return rules_.empty() ? nullptr : rules_[0].get(); }
    std::size_t rule_copies() const { return rules_.size(); }
    const SynapseRule& rule_copy(std::size_t q) const { return *rules_[q]; }
    SynapseRule& rule_copy(std::size_t q) { return *rules_[q]; }
    // Run in `partitions` partitions from now on: a per-partition rule gets
    // one copy each, any other rule stays one object.  Call once, before running.
    void use_partitions(std::uint32_t partitions);
    // What a rule hook gets for the arrival of delay group `group`'s synapses
    // [begin, begin + n) at event time t.
    Arrival arrival(Tick t, std::uint32_t group, std::uint32_t begin, std::uint32_t n, Membrane& post) {
        return Arrival{t, t - dendritic_, group, begin, n, weights_.data(), targets_.data(), post};
    }
    // Partition q's postsynaptic neuron `post` spiked (its rule copy).
    void post_arrival(std::uint32_t q, Tick event_t, std::uint32_t post) {
        rule(q)->on_post(event_t - dendritic_, post, weights_.data());
    }
    // Bytes of rule state, all copies (0 if none), for the benchmarks.
    std::size_t plasticity_bytes() const {
        std::size_t n = 0;
        for (const auto& rule : rules_) n += rule->storage_bytes();
        return n;
    }
    // When a postsynaptic spike at t must be handed to post_arrival.
    Tick post_arrival_time(Tick spike_t) const { return spike_t + 2 * dendritic_; }
    // Weights for the rules that change them (the owner of each synapse's target writes it).
    double* mutable_weights() {
        assert(!shared_weight_);
        return weights_.data();
    }
    // Checkpoints: the weights when something changes them (a rule here, or
    // on the tied partner), and every rule copy's state.  Static weights come
    // from the spec and are not written.
    void save_state(StateWriter& w) const;
    void load_state(StateReader& r);

private:
    struct RawSynapse {
        std::uint32_t src, tgt;
        Tick delay;
        double w;
    };
    // Order synapses by (source, delay, target), stably.
    static void sort_rows(std::vector<RawSynapse>& raw, std::uint32_t source_size);
    // Fill the CSR arrays from synapses sorted by (source, delay, target).
    void fill(const std::vector<RawSynapse>& raw, std::uint32_t source_size);
    void make_rule(const ProjectionSpec& spec, const TimeBase& time, std::uint32_t target_size);
    // Static projections with one weight for all synapses keep it once.
    void share_equal_weights();

    std::string name_;
    std::uint32_t index_, source_pop_, target_pop_;
    // Read at random rows as spikes come: on huge pages when large.
    BigVector<std::uint32_t> row_;    // per source neuron + 1: first delay group
    BigVector<DelayGroup> groups_;    // + a sentinel whose begin = number of synapses
    BigVector<std::uint32_t> targets_;
    BigVector<double> weights_;
    Tick dendritic_ = 0;
    std::vector<std::unique_ptr<SynapseRule>> rules_;  // none, one, or one per partition
    std::vector<std::uint32_t> twin_;  // tied: the index of each synapse's twin in the partner
    // weights_ holds one weight, repeated for the largest block (block_weights), not one per synapse.
    bool shared_weight_ = false;
};

}  // namespace spikeem
