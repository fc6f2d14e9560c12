#pragma once
// Small builders shared by the tests: networks written directly as domain
// structs, so that engine tests do not depend on the spec parser.
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "network/simulation.hpp"
#include "network/spec.hpp"
#include "experiments/gradcheck.hpp"

namespace spikeem::test {

// The recorded spikes of population 0 against a reference list of (tick, neuron) in the same
// order (time, then neuron): the same count (over 100) and neurons, and the largest difference
// in ticks, which is returned.
inline Tick largest_spike_difference(const Simulation& sim, const std::vector<std::pair<Tick, std::uint32_t>>& ref) {
    std::vector<std::pair<Tick, std::uint32_t>> got;
    for (const auto& sp : sim.sorted_spikes())
        if (sp.population == 0) got.push_back({sp.t, sp.neuron});
    MESSAGE(got.size(), " spikes in spikeem, ", ref.size(), " in the reference");
    REQUIRE(got.size() > 100);
    REQUIRE(got.size() == ref.size());
    Tick worst = 0;
    std::size_t equal = 0;
    for (std::size_t k = 0; k < got.size(); ++k) {
        REQUIRE(got[k].second == ref[k].second);
        worst = std::max(worst, got[k].first > ref[k].first ? got[k].first - ref[k].first : ref[k].first - got[k].first);
        equal += got[k].first == ref[k].first;
    }
    MESSAGE("largest difference ", worst, " ticks; ", equal, " of ", got.size(), " equal to the tick");
    return worst;
}

// A run of `spec` on `threads` threads as numbers to compare bit for bit: every
// spike (tick, population, neuron) and every voltage sample (tick, population,
// neuron, the bits of V); and the partitions it ran in.
inline std::pair<std::vector<std::uint64_t>, std::size_t> spike_and_voltage_bits(const NetworkSpec& spec,
                                                                                 unsigned threads) {
    Simulation sim(spec, threads, Partitioning::Exact);
    sim.run();
    std::vector<std::uint64_t> f;
    for (const SpikeRecord& sp : sim.sorted_spikes())
        f.insert(f.end(), {static_cast<std::uint64_t>(sp.t), sp.population, sp.neuron});
    for (const VoltageSample& v : sim.voltages())
        f.insert(f.end(), {static_cast<std::uint64_t>(v.t), v.population, v.neuron,
                           std::bit_cast<std::uint64_t>(v.v_mV)});
    return {f, sim.partitions()};
}

// Ticks to ms under the default TimeBase (1 tick = 1 ns), for references computed in ticks.
inline constexpr double kMsPerTick = 1e-6;
inline double ms(Tick t) { return static_cast<double>(t) * kMsPerTick; }

inline PopulationSpec lif(const std::string& name, std::uint32_t size, LifDeltaParams p) {
    return PopulationSpec{name, size, p};
}
inline PopulationSpec stochastic(const std::string& name, std::uint32_t size, StochasticParams p) {
    return PopulationSpec{name, size, p};
}
inline PopulationSpec spike_times(const std::string& name, std::vector<std::vector<double>> times_ms) {
    auto n = static_cast<std::uint32_t>(times_ms.size());
    return PopulationSpec{name, n, SpikeTimesParams{std::move(times_ms)}};
}
inline PopulationSpec poisson(const std::string& name, std::uint32_t size, double rate_hz, double start_ms = 0.0,
                              double stop_ms = INFINITY) {
    return PopulationSpec{name, size, PoissonParams{rate_hz, start_ms, stop_ms, 0.0, {}}};
}
inline ProjectionSpec connect(const std::string& src, const std::string& tgt, Connectivity c, Distribution w,
                              Distribution d) {
    ProjectionSpec p;
    p.name = src + "->" + tgt;
    p.source = src;
    p.target = tgt;
    p.connectivity = std::move(c);
    p.weight_mV = std::move(w);
    p.delay_ms = std::move(d);
    return p;
}

// A plasticity spec with the given rule and no weight bounds.
inline PlasticitySpec unbounded(decltype(PlasticitySpec::rule) rule) {
    PlasticitySpec ps;
    ps.rule = std::move(rule);
    ps.w_min_mV = -INFINITY;
    ps.w_max_mV = INFINITY;
    return ps;
}

// Random recurrent connections among n neurons, the first ne excitatory: each
// ordered pair (no autapses) with probability p, split by the source's type.
inline std::pair<ExplicitPairs, ExplicitPairs> random_ei_pairs(std::uint32_t n, std::uint32_t ne, double p,
                                                               std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::bernoulli_distribution link(p);
    ExplicitPairs from_e, from_i;
    for (std::uint32_t pre = 0; pre < n; ++pre)
        for (std::uint32_t post = 0; post < n; ++post)
            if (pre != post && link(rng)) (pre < ne ? from_e : from_i).pairs.push_back({pre, post, std::nullopt, std::nullopt});
    return {from_e, from_i};
}

// Recorded spike ticks of one neuron.
inline std::vector<Tick> spike_ticks(const Simulation& sim, std::uint32_t pop, std::uint32_t neuron) {
    std::vector<Tick> out;
    for (const auto& s : sim.sorted_spikes())
        if (s.population == pop && s.neuron == neuron) out.push_back(s.t);
    return out;
}

// Recorded spike ticks per neuron of population `pop`.
inline std::vector<std::vector<Tick>> trains(const Simulation& sim, std::uint32_t pop) {
    std::vector<std::vector<Tick>> out(sim.population(pop).size());
    for (const auto& s : sim.sorted_spikes())
        if (s.population == pop) out[s.neuron].push_back(s.t);
    return out;
}

// The same spikes (tick, population, neuron) in the same order.
inline bool same_spikes(const std::vector<SpikeRecord>& a, const std::vector<SpikeRecord>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t k = 0; k < a.size(); ++k)
        if (a[k].t != b[k].t || a[k].population != b[k].population || a[k].neuron != b[k].neuron) return false;
    return true;
}

// A small Brette-style network (E/I LIF with E_L above threshold plus a
// Poisson drive): chaotic, so any difference in order or rounding shows.
inline NetworkSpec small_cuba(std::uint64_t seed, double duration_ms = 200.0) {
    NetworkSpec s;
    s.run.duration_ms = duration_ms;
    s.run.seed = seed;
    LifDeltaParams p{20.0, -49.0, -60.0, -50.0, 5.0, UniformDist{-60.0, -50.0}};
    s.populations = {lif("E", 320, p), lif("I", 80, p), poisson("drive", 40, 200.0, 0.0, 50.0)};
    s.projections = {connect("E", "E", FixedProbability{0.1}, 0.5, 0.125),
                     connect("E", "I", FixedProbability{0.1}, 0.5, UniformDist{0.1, 2.0}),
                     connect("I", "E", FixedProbability{0.1}, -2.5, 0.125),
                     connect("I", "I", FixedIndegree{8}, NormalDist{-2.5, 0.5, -5.0, 0.0}, 0.2),
                     connect("drive", "E", FixedIndegree{4}, 1.0, 0.3)};
    s.record.spike_populations = {"E", "I", "drive"};
    s.record.voltages = {VoltageProbeSpec{"E", {0, 5, 17}, 0.25}};
    return s;
}

// Unbiasedness of a gradcheck over a group of weights: per seed the measured
// change projected on its predicted expectation at the last checkpoint,
// <dW, E> / <E, E> (1 when unbiased), then the mean and standard error over seeds.
struct MeanSe {
    double mean, se;
};
inline MeanSe unbiasedness(const GradcheckResult& r, const std::vector<std::size_t>& group) {
    std::vector<double> ratio;
    for (std::size_t s = 0; s < r.final_dw.size(); ++s) {
        double de = 0.0, ee = 0.0;
        for (std::size_t q : group) {
            de += r.final_dw[s][q] * r.final_expected[s][q];
            ee += r.final_expected[s][q] * r.final_expected[s][q];
        }
        ratio.push_back(de / ee);
    }
    const double n = static_cast<double>(ratio.size());
    double mean = 0.0, var = 0.0;
    for (double x : ratio) mean += x / n;
    for (double x : ratio) var += (x - mean) * (x - mean) / (n - 1.0);
    return {mean, std::sqrt(var / n)};
}

}  // namespace spikeem::test
