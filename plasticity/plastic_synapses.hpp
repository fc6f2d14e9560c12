#pragma once
// The one loop over plastic synapses, shared by every spike-pair rule
// (rules.hpp): the SynapseRule of a projection with such a rule.
//
// Timing contract: times passed in are *synapse* times: a presynaptic spike
// counts when it reaches the synapse (after the axonal delay), a postsynaptic
// spike when it reaches the synapse (after the dendritic delay).  The caller
// presents the events of one projection in order of synapse time; at equal
// times presynaptic arrivals come first, so a pair with t_post = t_pre counts
// as pre-before-post (potentiation).  At a presynaptic arrival the weight is
// transmitted first and updated after.
//
// Weights live in the projection; they are passed in at each call so that this
// object never holds a pointer into storage it does not own.  Hard bounds
// [w_min, w_max] are applied after every update.
//
// Rules change the strength s = sign * w (efficacy_sign in params.hpp): on an
// inhibitory projection (w_max <= 0, sign -1) potentiation makes w more
// negative.  The loop works in strength coordinates, s in [s_lo, s_hi] =
// [-w_max, -w_min] there; with sign +1 every product by sign_ is exact, so
// excitatory and mixed projections get the same bits as without it.
#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "plasticity/params.hpp"
#include "plasticity/rules.hpp"
#include "plasticity/synapse_rule.hpp"
#include "sim/huge_pages.hpp"
#include "sim/time.hpp"

namespace spikeem {

// Presynaptic state is stored per delay group instead of per synapse when the
// rule allows it (Rule::pre_shared()): every synapse of a group sees the same
// presynaptic arrivals and, if nothing else writes the state, holds the same
// state bit for bit, so one copy per group gives byte-identical results with
// 16 B less per synapse.  What is left per synapse is the index of the
// incoming-synapse list (4 B), next to the projection's target (4 B) and
// weight (8 B): 16 B per plastic synapse.  A postsynaptic spike needs the
// group of each incoming synapse: a projection of up to kDirectGroupSynapses
// keeps it beside the incoming-synapse index (in_group, 4 B more per synapse);
// a larger one finds it from a table of the group at every 2^shift-th synapse
// (2^shift <= the mean group size, so at most ~4/mean B per synapse) and a
// short forward scan.  With groups of one or two synapses sharing saves
// nothing, and the state stays per synapse.
//
// Partitions.  Per-synapse state is written only by the partition owning the
// synapse's target, so one object serves them all.  A group's state is written
// at every arrival of the group, and a group's targets may lie in several
// partitions: with shared state each partition gets its own copy (clone():
// its group states and postsynaptic traces; the incoming-synapse index, which
// never changes, is shared).  A partition receives every arrival of each group
// with a target in it, and the state after an arrival does not depend on which
// of the group's synapses took part, so its copy of such a group holds the same
// bits as the single copy of one partition; the groups without a target in it
// are never read there.
template <class Rule>
class PlasticSynapses final : public SynapseRule {
public:
    // Up to this many synapses a shared-state projection keeps in_group: 4 MB at
    // most.  Above it the memory matters more than the lookup (brunel_plastic's
    // 6.4 M plastic synapses would take 16 B -> 20 B each, and it ran no faster).
    static constexpr std::size_t kDirectGroupSynapses = std::size_t{1} << 20;

    // group_begin: first synapse of each delay group, plus a sentinel = n_synapses.
    // direct_group_synapses: up to this many synapses, a postsynaptic spike finds
    // each incoming synapse's group from a per-synapse index (in_group) rather than
    // the bucket table; the same groups either way (tests compare the two).
    PlasticSynapses(Rule rule, const PlasticitySpec& spec, const std::uint32_t* targets, std::size_t n_synapses,
                    std::uint32_t target_size, const std::uint32_t* group_begin, std::size_t n_groups,
                    std::size_t direct_group_synapses = kDirectGroupSynapses)
        : rule_(std::move(rule)),
          sign_(efficacy_sign(spec)),
          s_lo_(sign_ > 0 ? spec.w_min_mV : -spec.w_max_mV),
          s_hi_(sign_ > 0 ? spec.w_max_mV : -spec.w_min_mV),
          mu_plus_(spec.dependence.mu_plus),
          mu_minus_(spec.dependence.mu_minus),
          shared_(rule_.pre_shared() && n_groups > 0 && n_synapses >= 3 * n_groups),
          pre_(shared_ ? 0 : n_synapses),
          post_(target_size) {
        auto index = std::make_shared<Index>();
        const bool direct = shared_ && n_synapses <= direct_group_synapses;  // in_group, else bucket
        if (shared_) {
            groups_.resize(n_groups);
            for (std::size_t g = 0; g < n_groups; ++g) groups_[g].end = group_begin[g + 1];
        }
        if (shared_ && !direct) {
            while (index->shift < 20 && (std::size_t{2} << index->shift) * n_groups <= n_synapses) ++index->shift;
            index->bucket.resize((n_synapses >> index->shift) + 1);
            std::uint32_t g = 0;
            for (std::size_t b = 0; b < index->bucket.size(); ++b) {
                const std::size_t k = b << index->shift;
                while (g + 1 < n_groups && groups_[g].end <= k) ++g;
                index->bucket[b] = g;
            }
        }
        // Incoming synapses per postsynaptic neuron (CSC), in storage order.
        BigVector<std::uint32_t>& in_row = index->in_row;
        BigVector<std::uint32_t>& in_syn = index->in_syn;
        in_row.assign(std::size_t{target_size} + 1, 0);
        in_syn.resize(n_synapses);
        for (std::size_t k = 0; k < n_synapses; ++k) ++in_row[targets[k] + 1];
        for (std::uint32_t j = 0; j < target_size; ++j) in_row[j + 1] += in_row[j];
        std::vector<std::uint32_t> fill(in_row.begin(), in_row.end() - 1);
        for (std::size_t k = 0; k < n_synapses; ++k) in_syn[fill[targets[k]]++] = static_cast<std::uint32_t>(k);
        if (direct) {
            // Each incoming synapse's group, read in order beside it: no dependent
            // bucket-then-group loads and no scan at a postsynaptic spike.
            std::vector<std::uint32_t> group_of(n_synapses);  // in storage order
            for (std::size_t g = 0; g < n_groups; ++g)
                std::fill(group_of.begin() + group_begin[g], group_of.begin() + group_begin[g + 1],
                          static_cast<std::uint32_t>(g));
            std::vector<std::uint32_t>& in_group = index->in_group;
            in_group.resize(n_synapses);
            for (std::size_t i = 0; i < n_synapses; ++i) in_group[i] = group_of[in_syn[i]];
        }
        index_ = std::move(index);
    }

    // Presynaptic arrival: learn after the PSP went out, at synapse time.
    bool after_transmit(const Arrival& a) override {
        on_pre(a.t_synapse, a.group, a.begin, a.n, a.weights, a.targets);
        return false;
    }
    bool wants_post_spikes() const override { return true; }

    void on_pre(Tick t, std::uint32_t group, std::uint32_t begin, std::uint32_t n, double* w,
                const std::uint32_t* targets) {
        const typename Rule::Now at = rule_.now(t);
        if constexpr (requires(const Rule& r, const typename Rule::Pre& s) { r.pre_at(s, at); }) {
            if (shared_) {
                on_pre_shared(at, group, begin, n, w, targets);
                return;
            }
        }
        assert(!shared_);  // a rule that shares Pre provides pre_at
        for (std::uint32_t k = begin; k < begin + n; ++k) {
            const auto now = rule_.post_at(post_[targets[k]], at);
            const double d = rule_.depression(pre_[k], now, at);
            if (d != 0.0) w[k] = depress(w[k], d);
        }
    }

    void on_post(Tick t, std::uint32_t post, double* w) override {
        const typename Rule::Now at = rule_.now(t);
        const auto now = rule_.post_at(post_[post], at);
        // A column of the synapse matrix: every w[k] is a cache miss of its
        // own, so start loading kAhead synapses in advance.
        constexpr std::uint32_t kAhead = 16;
        const std::uint32_t* in_syn = index_->in_syn.data();
        const std::uint32_t begin = index_->in_row[post], end = index_->in_row[post + 1];
        for (std::uint32_t i = begin; i < std::min(begin + kAhead, end); ++i) __builtin_prefetch(&w[in_syn[i]], 1);
        if (shared_ && !index_->in_group.empty()) {
            const std::uint32_t* in_group = index_->in_group.data();
            for (std::uint32_t i = begin; i < std::min(begin + kAhead, end); ++i) __builtin_prefetch(&groups_[in_group[i]]);
            for (std::uint32_t i = begin; i < end; ++i) {
                if (i + kAhead < end) {
                    __builtin_prefetch(&w[in_syn[i + kAhead]], 1);
                    __builtin_prefetch(&groups_[in_group[i + kAhead]]);
                }
                const std::uint32_t k = in_syn[i];
                typename Rule::Pre pre = groups_[in_group[i]].pre;  // potentiation leaves a shared state unchanged
                const double p = rule_.potentiation(pre, now, at);
                if (p != 0.0) w[k] = potentiate(w[k], p);
            }
        } else if (shared_) {
            const std::uint32_t* bucket = index_->bucket.data();
            const unsigned shift = index_->shift;
            // The group lookup is a chain of two scattered loads (bucket, then the group):
            // start the bucket kAhead synapses early and the group half as early.
            for (std::uint32_t i = begin; i < std::min(begin + kAhead, end); ++i)
                __builtin_prefetch(&bucket[in_syn[i] >> shift]);
            for (std::uint32_t i = begin; i < end; ++i) {
                if (i + kAhead < end) {
                    __builtin_prefetch(&w[in_syn[i + kAhead]], 1);
                    __builtin_prefetch(&bucket[in_syn[i + kAhead] >> shift]);
                }
                if (i + kAhead / 2 < end) __builtin_prefetch(&groups_[bucket[in_syn[i + kAhead / 2] >> shift]]);
                const std::uint32_t k = in_syn[i];
                std::uint32_t g = bucket[k >> shift];
                while (groups_[g].end <= k) ++g;
                typename Rule::Pre pre = groups_[g].pre;  // potentiation leaves a shared state unchanged
                const double p = rule_.potentiation(pre, now, at);
                if (p != 0.0) w[k] = potentiate(w[k], p);
            }
        } else {
            for (std::uint32_t i = begin; i < end; ++i) {
                if (i + kAhead < end) {
                    __builtin_prefetch(&w[in_syn[i + kAhead]], 1);
                    __builtin_prefetch(&pre_[in_syn[i + kAhead]]);
                }
                const std::uint32_t k = in_syn[i];
                const double p = rule_.potentiation(pre_[k], now, at);
                if (p != 0.0) w[k] = potentiate(w[k], p);
            }
        }
        rule_.post_spike(post_[post], at);
    }

    bool per_partition() const override { return shared_; }
    std::unique_ptr<SynapseRule> clone() const override {
        auto copy = std::make_unique<PlasticSynapses>(*this);
        copy->first_copy_ = false;
        return copy;
    }

    void save_state(StateWriter& w) const override {
        w.section("spike-pair traces");
        w.value(shared_);
        if (shared_) {
            std::vector<typename Rule::Pre> pre;
            for (const Group& g : groups_) pre.push_back(g.pre);
            w.values(pre);
        } else {
            w.values(pre_);
        }
        w.values(post_);
    }
    void load_state(StateReader& r) override {
        r.section("spike-pair traces");
        r.expect(shared_, "the sharing of presynaptic traces");
        if (shared_) {
            std::vector<typename Rule::Pre> pre(groups_.size());
            r.same_size(pre, "presynaptic traces");
            for (std::size_t g = 0; g < pre.size(); ++g) groups_[g].pre = pre[g];
        } else {
            r.same_size(pre_, "presynaptic traces");
        }
        r.same_size(post_, "postsynaptic traces");
    }

    // The shared incoming-synapse index is counted with the first copy only.
    std::size_t storage_bytes() const override {
        const std::size_t index =
            first_copy_ ? (index_->in_row.size() + index_->in_syn.size() + index_->bucket.size() + index_->in_group.size()) *
                              sizeof(std::uint32_t)
                        : 0;
        return pre_.size() * sizeof(typename Rule::Pre) + groups_.size() * sizeof(Group) +
               post_.size() * sizeof(typename Rule::Post) + index;
    }

private:
    // on_pre with one Pre per delay group.  The group's state is moved to now
    // once (pre_at): the same bits as moving it in every synapse's depression.
    // Each synapse takes its amount from that state (depression_amount), and
    // the group's state takes depression's update once: it does not depend on
    // the synapse (pre_shared).
    void on_pre_shared(const typename Rule::Now& at, std::uint32_t group, std::uint32_t begin, std::uint32_t n,
                       double* w, const std::uint32_t* targets) {
        const typename Rule::Pre before = rule_.pre_at(groups_[group].pre, at);
        for (std::uint32_t k = begin; k < begin + n; ++k) {
            const double d = rule_.depression_amount(before, rule_.post_at(post_[targets[k]], at), at);
            if (d != 0.0) w[k] = depress(w[k], d);
        }
        typename Rule::Pre after = before;
        if (n > 0) (void)rule_.depression(after, typename Rule::PostNow{}, at);
        groups_[group].pre = after;
    }

    // The weight after strength s = sign w changed by +p f_plus(s) or -d f_minus(s), clipped.
    double potentiate(double w, double p) const {
        const double s = sign_ * w;
        return sign_ * clamp(s + p * f_plus(s));
    }
    double depress(double w, double d) const {
        const double s = sign_ * w;
        return sign_ * clamp(s - d * f_minus(s));
    }
    double clamp(double s) const { return std::clamp(s, s_lo_, s_hi_); }
    // Guetig et al. 2003 on u = (s - s_lo)/(s_hi - s_lo); exponent 0 is additive.
    double f_plus(double s) const {
        return mu_plus_ == 0.0 ? 1.0 : std::pow(std::max(0.0, (s_hi_ - s) / (s_hi_ - s_lo_)), mu_plus_);
    }
    double f_minus(double s) const {
        return mu_minus_ == 0.0 ? 1.0 : std::pow(std::max(0.0, (s - s_lo_) / (s_hi_ - s_lo_)), mu_minus_);
    }

    // A delay group's shared presynaptic state, next to where the group ends
    // (the lookup's scan and the state read touch the same cache line).
    struct Group {
        typename Rule::Pre pre{};
        std::uint32_t end = 0;  // first synapse of the next group
    };

    Rule rule_;
    double sign_;         // efficacy_sign: +1, or -1 on an inhibitory projection
    double s_lo_, s_hi_;  // bounds on the strength sign_ * w
    double mu_plus_, mu_minus_;
    // What never changes after building, shared by the copies of the partitions.
    struct Index {
        BigVector<std::uint32_t> in_row, in_syn;    // incoming synapses per postsynaptic neuron (CSC)
        // When shared_, one of two ways to a synapse's group.  A small projection:
        // the group of each in_syn entry (4 B per synapse).  A large one: the group
        // of synapse b << shift, then a short scan.
        std::vector<std::uint32_t> in_group;
        std::vector<std::uint32_t> bucket;
        unsigned shift = 0;
    };

    bool shared_;                              // presynaptic state per delay group (else per synapse)
    // Read at random places as spikes come: on huge pages when large.
    BigVector<typename Rule::Pre> pre_;        // per synapse, when not shared_
    BigVector<typename Rule::Post> post_;
    BigVector<Group> groups_;                  // when shared_
    std::shared_ptr<const Index> index_;
    bool first_copy_ = true;                   // clone()s are not
};

}  // namespace spikeem
