#include "network/projection.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "network/population.hpp"
#include "plasticity/make_rule.hpp"
#include "sim/random.hpp"

namespace spikeem {
namespace {

// Floyd's algorithm: k distinct values from [0, n), in ascending order.
std::vector<std::uint32_t> sample_distinct(std::uint32_t n, std::uint32_t k, RandomStream& rng) {
    std::vector<std::uint32_t> chosen;
    chosen.reserve(k);
    for (std::uint32_t j = n - k; j < n; ++j) {
        auto t = static_cast<std::uint32_t>(rng.below(std::uint64_t{j} + 1));
        if (std::find(chosen.begin(), chosen.end(), t) == chosen.end())
            chosen.push_back(t);
        else
            chosen.push_back(j);
    }
    std::sort(chosen.begin(), chosen.end());
    return chosen;
}

}  // namespace

Projection::Projection(const ProjectionSpec& spec, std::uint32_t index, std::uint32_t source_pop,
                       std::uint32_t target_pop, std::uint32_t source_size, std::uint32_t target_size,
                       bool same_population, const TimeBase& time, std::uint64_t seed)
    : name_(spec.name),
      index_(index),
      source_pop_(source_pop),
      target_pop_(target_pop),
      dendritic_(time.round(spec.dendritic_delay_ms)) {
    const NeuronRange srange = spec.source_range.value_or(NeuronRange{0, source_size});
    const NeuronRange trange = spec.target_range.value_or(NeuronRange{0, target_size});
    const std::uint32_t ns = srange.end - srange.begin, nt = trange.end - trange.begin;
    const std::uint64_t key = stable_hash(spec.name);
    const bool no_autapses = same_population && !spec.allow_autapses;

    // Weights and delays are drawn from one stream per source row (or target
    // row for fixed in-degree), in the order the row's synapses are generated.
    std::vector<RawSynapse> raw;
    auto add = [&](std::uint32_t s, std::uint32_t t, RandomStream& wr, RandomStream& dr) {
        std::uint32_t gs = srange.begin + s, gt = trange.begin + t;
        if (no_autapses && gs == gt) return;
        double w = draw(spec.weight_mV, wr);
        Tick d = std::max<Tick>(time.round(draw(spec.delay_ms, dr)), 1) + dendritic_;
        raw.push_back({gs, gt, d, w});
    };

    if (std::holds_alternative<AllToAll>(spec.connectivity)) {
        raw.reserve(std::size_t{ns} * nt);
        for (std::uint32_t s = 0; s < ns; ++s) {
            RandomStream wr(seed, rng_domain::kWeight, key, s), dr(seed, rng_domain::kDelay, key, s);
            for (std::uint32_t t = 0; t < nt; ++t) add(s, t, wr, dr);
        }
    } else if (std::holds_alternative<OneToOne>(spec.connectivity)) {
        for (std::uint32_t s = 0; s < ns; ++s) {
            RandomStream wr(seed, rng_domain::kWeight, key, s), dr(seed, rng_domain::kDelay, key, s);
            add(s, s, wr, dr);
        }
    } else if (auto* fp = std::get_if<FixedProbability>(&spec.connectivity)) {
        // Geometric skipping: O(synapses) rather than O(ns * nt) Bernoulli draws.
        const double p = fp->p;
        raw.reserve(static_cast<std::size_t>(p * ns * nt * 1.1) + 16);
        for (std::uint32_t s = 0; s < ns; ++s) {
            RandomStream cr(seed, rng_domain::kConnectivity, key, s);
            RandomStream wr(seed, rng_domain::kWeight, key, s), dr(seed, rng_domain::kDelay, key, s);
            if (p >= 1.0) {
                for (std::uint32_t t = 0; t < nt; ++t) add(s, t, wr, dr);
                continue;
            }
            if (p <= 0.0) continue;
            const double log_q = std::log1p(-p);
            double t = -1.0;
            while (true) {
                t += 1.0 + std::floor(std::log(cr.uniform_pos()) / log_q);
                if (t >= nt) break;
                add(s, static_cast<std::uint32_t>(t), wr, dr);
            }
        }
    } else if (auto* fi = std::get_if<FixedIndegree>(&spec.connectivity)) {
        raw.reserve(std::size_t{fi->indegree} * nt);
        for (std::uint32_t t = 0; t < nt; ++t) {
            RandomStream cr(seed, rng_domain::kConnectivity, key, t);
            RandomStream wr(seed, rng_domain::kWeight, key, t), dr(seed, rng_domain::kDelay, key, t);
            // Without autapses, draw from the other ns - 1 sources and skip self.
            const std::uint32_t gt = trange.begin + t;
            const bool self_in_range = no_autapses && gt >= srange.begin && gt < srange.end;
            const std::uint32_t pool = self_in_range ? ns - 1 : ns;
            for (std::uint32_t s : sample_distinct(pool, fi->indegree, cr)) {
                if (self_in_range && srange.begin + s >= gt) ++s;
                add(s, t, wr, dr);
            }
        }
    } else {
        const auto& pairs = std::get<ExplicitPairs>(spec.connectivity).pairs;
        RandomStream wr(seed, rng_domain::kWeight, key, 0), dr(seed, rng_domain::kDelay, key, 0);
        for (const auto& pr : pairs) {
            std::uint32_t gs = srange.begin + pr.pre, gt = trange.begin + pr.post;
            double w = pr.weight_mV ? *pr.weight_mV : draw(spec.weight_mV, wr);
            Tick d = std::max<Tick>(time.round(pr.delay_ms ? *pr.delay_ms : draw(spec.delay_ms, dr)), 1) + dendritic_;
            raw.push_back({gs, gt, d, w});  // explicit pairs are taken as given, autapses included
        }
    }

    sort_rows(raw, source_size);
    fill(raw, source_size);
    make_rule(spec, time, target_size);
    share_equal_weights();
}

// Stable so that duplicate explicit pairs keep their order: a stable counting
// sort by source, then a stable sort of each (short) row by (delay, target),
// which is the order of one stable sort by all three.
void Projection::sort_rows(std::vector<RawSynapse>& raw, std::uint32_t source_size) {
    std::vector<std::size_t> start(std::size_t{source_size} + 1, 0);
    for (const RawSynapse& r : raw) ++start[r.src + 1];
    for (std::uint32_t s = 0; s < source_size; ++s) start[s + 1] += start[s];
    // Most generators emit rows in source order already; only the others
    // (fixed in-degree: target-major) pay for the copy.
    const bool by_source_already = std::is_sorted(
        raw.begin(), raw.end(), [](const RawSynapse& a, const RawSynapse& b) { return a.src < b.src; });
    if (!by_source_already) {
        std::vector<RawSynapse> by_source(raw.size());
        std::vector<std::size_t> fill(start.begin(), start.end() - 1);
        for (const RawSynapse& r : raw) by_source[fill[r.src]++] = r;
        raw.swap(by_source);
    }
    for (std::uint32_t s = 0; s < source_size; ++s)
        std::stable_sort(raw.begin() + static_cast<std::ptrdiff_t>(start[s]),
                         raw.begin() + static_cast<std::ptrdiff_t>(start[s + 1]),
                         [](const RawSynapse& a, const RawSynapse& b) {
                             return a.delay != b.delay ? a.delay < b.delay : a.tgt < b.tgt;
                         });
}

void Projection::fill(const std::vector<RawSynapse>& raw, std::uint32_t source_size) {
    if (raw.size() >= 0xffffffffull) throw std::runtime_error("projection \"" + name_ + "\": more than 2^32 synapses");
    targets_.resize(raw.size());
    weights_.resize(raw.size());
    row_.assign(std::size_t{source_size} + 1, 0);
    std::size_t k = 0;
    for (std::uint32_t s = 0; s < source_size; ++s) {
        row_[s] = static_cast<std::uint32_t>(groups_.size());
        while (k < raw.size() && raw[k].src == s) {
            Tick d = raw[k].delay;
            groups_.push_back({d, static_cast<std::uint32_t>(k)});
            for (; k < raw.size() && raw[k].src == s && raw[k].delay == d; ++k) {
                targets_[k] = raw[k].tgt;
                weights_[k] = raw[k].w;
            }
        }
    }
    row_[source_size] = static_cast<std::uint32_t>(groups_.size());
    groups_.push_back({0, static_cast<std::uint32_t>(raw.size())});
}

void Projection::make_rule(const ProjectionSpec& spec, const TimeBase& time, std::uint32_t target_size) {
    if (!spec.plasticity) return;
    std::vector<std::uint32_t> begins(groups_.size());  // with the sentinel
    for (std::size_t g = 0; g < groups_.size(); ++g) begins[g] = groups_[g].begin;
    rules_.push_back(spikeem::make_rule(*spec.plasticity, time,
                                        {targets_.data(), targets_.size(), target_size, begins.data(), groups_.size() - 1}));
}

void Projection::use_partitions(std::uint32_t partitions) {
    if (rules_.empty() || partitions <= 1 || !rules_[0]->per_partition()) return;
    while (rules_.size() < partitions) rules_.push_back(rules_[0]->clone());
}

Projection::Projection(const ProjectionSpec& spec, std::uint32_t index, std::uint32_t source_pop,
                       std::uint32_t target_pop, std::uint32_t source_size, std::uint32_t target_size,
                       const Projection& partner, const TimeBase& time, std::uint64_t seed)
    : name_(spec.name),
      index_(index),
      source_pop_(source_pop),
      target_pop_(target_pop),
      dendritic_(time.round(spec.dendritic_delay_ms)) {
    // Reverse the partner's pairs; delays are drawn per new source row, in the
    // order of the partner's synapses (deterministic in seed and this name).
    struct Reversed {
        RawSynapse syn;
        std::uint32_t twin;
    };
    std::vector<Reversed> rev;
    rev.reserve(partner.num_synapses());
    const std::uint64_t key = stable_hash(spec.name);
    std::vector<RandomStream> delay_rng;
    delay_rng.reserve(source_size);
    for (std::uint32_t s = 0; s < source_size; ++s) delay_rng.emplace_back(seed, rng_domain::kDelay, key, s);
    for (std::uint32_t s = 0; s + 1 < partner.row_.size(); ++s)
        for (std::uint32_t g = partner.group_begin(s); g < partner.group_end(s); ++g)
            for (std::uint32_t k = partner.groups_[g].begin; k < partner.groups_[g + 1].begin; ++k) {
                const std::uint32_t src = partner.targets_[k];
                const Tick d = std::max<Tick>(time.round(draw(spec.delay_ms, delay_rng[src])), 1) + dendritic_;
                rev.push_back({{src, s, d, partner.weight(k)}, k});
            }
    std::stable_sort(rev.begin(), rev.end(), [](const Reversed& a, const Reversed& b) {
        if (a.syn.src != b.syn.src) return a.syn.src < b.syn.src;
        return a.syn.delay != b.syn.delay ? a.syn.delay < b.syn.delay : a.syn.tgt < b.syn.tgt;
    });
    std::vector<RawSynapse> raw(rev.size());
    twin_.resize(rev.size());
    for (std::size_t k = 0; k < rev.size(); ++k) raw[k] = rev[k].syn, twin_[k] = rev[k].twin;
    fill(raw, source_size);
    make_rule(spec, time, target_size);
    share_equal_weights();
}

void Projection::share_equal_weights() {
    if (learns() || weights_.empty()) return;
    const double w = weights_[0];
    for (double x : weights_)
        if (x != w) return;
    std::uint32_t largest = 0;
    for (std::size_t g = 0; g + 1 < groups_.size(); ++g) largest = std::max(largest, group_size(static_cast<std::uint32_t>(g)));
    weights_.assign(largest, w);
    weights_.shrink_to_fit();
    shared_weight_ = true;
}

void Projection::tie(Projection& a, Projection& b) {
    // a is the transpose (it knows the pairing); give b the inverse map.
    b.twin_.assign(a.twin_.size(), 0);
    for (std::uint32_t k = 0; k < a.twin_.size(); ++k) b.twin_[a.twin_[k]] = k;
    if (a.learns()) a.rules_[0]->share_weights_with(b.weights_.data(), a.twin_.data());
    if (b.learns()) b.rules_[0]->share_weights_with(a.weights_.data(), b.twin_.data());
}

void Projection::save_state(StateWriter& w) const {
    w.section("projection " + name_);
    w.value(static_cast<std::uint64_t>(rules_.size()));
    if (learns() || tied()) w.values(weights_);
    for (const auto& rule : rules_) rule->save_state(w);
}

void Projection::load_state(StateReader& r) {
    r.section("projection " + name_);
    r.expect(static_cast<std::uint64_t>(rules_.size()), "the number of rule copies (one per partition)");
    if (learns() || tied()) r.same_size(weights_, "weights");
    for (const auto& rule : rules_) rule->load_state(r);
}

}  // namespace spikeem
