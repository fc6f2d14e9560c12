#include "experiments/eq1_network.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

#include "network/simulation.hpp"

namespace spikeem {

namespace {
// The rule is measured, not used: a tiny eta keeps the weights (and so the
// network) unchanged over the run; updates are reported divided by it.
constexpr double kEtaMs = 1e-9;
}  // namespace

NetworkSpec eq1_network(const Eq1NetworkOptions& o) {
    NetworkSpec s;
    s.name = "eq1_network";
    s.run.duration_ms = o.duration_ms;
    s.run.seed = o.seed;
    s.populations = {PopulationSpec{"exc", o.n_exc, PoissonParams{o.rate_exc_hz, 0.0, INFINITY, 0.0, {}}},
                     PopulationSpec{"inh", o.n_inh, PoissonParams{o.rate_inh_hz, 0.0, INFINITY, 0.0, {}}},
                     PopulationSpec{"post", 1, o.neuron}};
    PlasticitySpec rule;
    rule.rule = VoltageSlopeParams{kEtaMs, o.estimate, o.slope_window_ms, true};
    rule.w_min_mV = -INFINITY;
    for (const char* src : {"exc", "inh"}) {
        ProjectionSpec p;
        p.name = std::string(src) + "->post";
        p.source = src;
        p.target = "post";
        p.connectivity = AllToAll{};
        p.weight_mV = std::string(src) == "exc" ? o.w_exc_mV : o.w_inh_mV;
        // The central difference reads V(t - T) when the spike leaves: the delay must cover T.
        p.delay_ms = std::max(1.0, o.slope_window_ms);
        p.plasticity = rule;
        s.projections.push_back(p);
    }
    s.record.spike_populations = {"post"};
    return s;
}

Eq1NetworkResult run_eq1_network(const Eq1NetworkOptions& o,
                                 const std::function<void(std::size_t, std::size_t)>& progress) {
    if (!(o.duration_ms > 0.0) || !(o.block_ms > 0.0))
        throw std::invalid_argument("eq1 network: duration_ms and block_ms must be positive");
    Simulation sim(eq1_network(o));
    for (std::size_t j = 0; j < sim.num_projections(); ++j) sim.enable_slope_log(j);
    // In pieces with or without a callback: one code path (pieces change no result).
    constexpr Tick kPieces = 100;
    const Tick end = sim.duration_ticks();
    const auto total_ms = static_cast<std::size_t>(std::llround(o.duration_ms));
    for (Tick k = 1; k <= kPieces; ++k) {
        sim.run_until(end / kPieces * k + (k == kPieces ? end % kPieces : 0));
        if (progress) progress(static_cast<std::size_t>(std::llround(sim.time().to_ms(sim.now()))), total_ms);
    }
    Eq1NetworkResult r;
    std::vector<double> post;
    for (const auto& s : sim.sorted_spikes()) post.push_back(sim.time().to_ms(s.t));
    r.post_spikes = post.size();
    r.post_rate_hz = static_cast<double>(post.size()) / (o.duration_ms / 1000.0);
    r.blocks = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::floor(o.duration_ms / o.block_ms)));
    r.block_ms = o.block_ms;
    // Every presynaptic spike (time, dW), grouped by block; within a block the
    // order (projection, then log order) is fixed, so the sums are reproducible.
    std::vector<std::vector<std::pair<double, double>>> by_block(r.blocks);
    for (std::size_t j = 0; j < sim.num_projections(); ++j) {
        for (const SlopeUpdate& u : sim.slope_log(j)) {
            const double t = sim.time().to_ms(u.t_arrival);
            const auto b = std::min<std::uint64_t>(r.blocks - 1, static_cast<std::uint64_t>(std::max(0.0, t / o.block_ms)));
            by_block[b].emplace_back(t, u.dw / kEtaMs);
        }
    }
    eq1::ReplicateBins acc(o.window_ms, o.bin_ms);
    std::vector<eq1::Pair> pairs;
    for (const auto& block : by_block) {
        for (const auto& [t, dw] : block) {
            ++r.pre_spikes;
            pairs.clear();
            eq1::select_pairs(post, t, o.window_ms, o.pairing, dw, pairs);
            for (const eq1::Pair& p : pairs) acc.add(p.dT_ms, p.dW);
            r.pairs += pairs.size();
        }
        acc.close_replicate();
    }
    r.bins = acc.bins();
    r.fits = eq1::fit_curve(r.bins);
    return r;
}

}  // namespace spikeem
