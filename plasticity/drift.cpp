#include "plasticity/drift.hpp"

#include <tbb/parallel_for.h>

#include <cmath>
#include <numeric>

#include "network/simulation.hpp"

namespace spikeem {

double identity_drift(const PairStdpParams& r, double r_pre_hz, double r_post_hz, double slope_hz_per_s) {
    const double tp = r.tau_plus_ms / 1000.0, tm = r.tau_minus_ms / 1000.0;  // s
    const double int_k = r.a_plus_mV * tp - r.a_minus_mV * tm;
    const double int_tau_k = r.a_plus_mV * tp * tp + r.a_minus_mV * tm * tm;
    return r_pre_hz * (r_post_hz * int_k + slope_hz_per_s * int_tau_k);
}

namespace {

// Composite Simpson on [a, b] with n (even) intervals.
template <class F>
double simpson(F f, double a, double b, int n) {
    if (b <= a) return 0.0;
    const double h = (b - a) / n;
    double s = f(a) + f(b);
    for (int k = 1; k < n; ++k) s += f(a + k * h) * (k % 2 ? 4.0 : 2.0);
    return s * h / 3.0;
}

// Integral over [0, T] of a function with a start-up transient on two time
// scales (the STDP window, then the interspike intervals): each gets its own grid.
template <class F>
double start_resolved(F f, double T, double tau_fast, double tau_slow) {
    const double a = std::min(T, 40.0 * tau_fast), b = std::min(T, std::max(a, 40.0 * tau_slow));
    return simpson(f, 0.0, a, 400) + simpson(f, a, b, 400) + simpson(f, b, T, 2000);
}

}  // namespace

double expected_drift(const PairStdpParams& r, const DriftCase& c, double duration_ms) {
    // Times in s, rates in Hz.
    const double T = duration_ms / 1000.0, tp = r.tau_plus_ms / 1000.0, tm = r.tau_minus_ms / 1000.0;
    const double rp = c.r_pre_hz, r0 = c.r_post_hz, s = c.r_post_slope_hz_per_s;
    auto rate = [&](double t) { return std::max(0.0, r0 + s * t); };
    auto R = [&](double t) {  // integral of the post rate over [0, t] (rate stays >= 0 by validation)
        return r0 * t + 0.5 * s * t * t;
    };
    double pot = 0.0, dep = 0.0;
    const double tau_fast = std::min(tp, tm);
    const double tau_slow = std::max({tp, tm, 1.0 / std::max(rp, 1e-9), 1.0 / std::max(r0, 1e-9)});
    if (c.pairing == Pairing::AllToAll) {
        // Every pre/post pair: closed form of r_pre * int_0^T r(b) int_0^T K(b - a) da db.
        auto i0 = [&](double tau) { return tau * -std::expm1(-T / tau); };
        auto i1 = [&](double tau) { return tau * tau * -std::expm1(-T / tau) - tau * T * std::exp(-T / tau); };
        pot = rp * r.a_plus_mV * tp * (r0 * T + s * T * T / 2 - r0 * i0(tp) - s * i1(tp));
        dep = rp * r.a_minus_mV * tm * ((r0 + s * T) * (T - i0(tm)) - s * (T * T / 2 - i1(tm)));
    } else {
        // Depression (both nearest schemes): each pre spike with the last post spike before it.
        // The integrands carry exp(-u/tau): 40 tau covers them to e^-40, in steps of tau/10.
        auto last_post = [&](double a) {  // E[exp(-(a - b_last)/tau-)], b_last the last post before a
            return simpson([&](double u) { return rate(a - u) * std::exp(-(R(a) - R(a - u)) - u / tm); }, 0.0,
                           std::min(a, 40.0 * tm), 400);
        };
        dep = rp * r.a_minus_mV * start_resolved(last_post, T, tau_fast, tau_slow);
        if (c.pairing == Pairing::NearestSymmetric) {
            // Each post spike with the last pre spike before it (pre is homogeneous).
            const double k = rp + 1.0 / tp;
            pot = r.a_plus_mV * start_resolved([&](double b) { return rate(b) * rp / k * -std::expm1(-k * b); }, T,
                                               tau_fast, tau_slow);
        } else {
            // Presynaptic-centred: each post spike with every pre spike since the previous post spike.
            auto since_last_post = [&](double b) {
                return simpson([&](double u) { return rp * std::exp(-u / tp - (R(b) - R(b - u))); }, 0.0,
                               std::min(b, 40.0 * tp), 400);
            };
            pot = r.a_plus_mV * start_resolved([&](double b) { return rate(b) * since_last_post(b); }, T, tau_fast,
                                               tau_slow);
        }
    }
    return (pot - dep) / T;
}

NetworkSpec drift_network(const PairStdpParams& rule, const DriftCase& c, const DriftOptions& o, std::uint64_t seed) {
    NetworkSpec s;
    s.name = "drift";
    s.run.duration_ms = o.duration_ms;
    s.run.seed = seed;
    s.populations = {PopulationSpec{"pre", o.pre_neurons, PoissonParams{c.r_pre_hz, 0.0, INFINITY, 0.0}},
                     PopulationSpec{"post", o.post_neurons,
                                    PoissonParams{c.r_post_hz, 0.0, INFINITY, c.r_post_slope_hz_per_s}}};
    ProjectionSpec p;
    p.name = "pre->post";
    p.source = "pre";
    p.target = "post";  // a spike source: it imposes the post train and ignores the input
    p.connectivity = AllToAll{};
    p.weight_mV = 0.0;
    p.delay_ms = 1.0;
    PlasticitySpec ps;
    PairStdpParams r = rule;
    r.pairing = c.pairing;
    ps.rule = r;
    ps.w_min_mV = -INFINITY;  // no bounds: the drift is measured, not shaped
    p.plasticity = ps;
    s.projections = {p};
    return s;
}

std::vector<DriftRow> measure_drift(const DriftOptions& o, const std::vector<DriftCase>& cases) {
    const std::size_t n = cases.size() * static_cast<std::size_t>(o.seeds);
    std::vector<double> per_run(n);
    tbb::parallel_for(std::size_t{0}, n, [&](std::size_t i) {
        const DriftCase& c = cases[i / o.seeds];
        Simulation sim(drift_network(o.rule, c, o, o.first_seed + i % o.seeds));
        sim.run();
        double sum = 0.0;
        const auto w = sim.weights_now(0);
        for (const auto& x : w) sum += x.w;
        per_run[i] = sum / static_cast<double>(w.size()) / (o.duration_ms / 1000.0);
    });
    std::vector<DriftRow> rows;
    for (std::size_t k = 0; k < cases.size(); ++k) {
        const double* x = per_run.data() + k * o.seeds;
        const double mean = std::accumulate(x, x + o.seeds, 0.0) / o.seeds;
        double var = 0.0;
        for (int j = 0; j < o.seeds; ++j) var += (x[j] - mean) * (x[j] - mean);
        var /= std::max(1, o.seeds - 1);
        const DriftCase& c = cases[k];
        const double mean_post = c.r_post_hz + c.r_post_slope_hz_per_s * o.duration_ms / 2000.0;
        rows.push_back({c, mean, std::sqrt(var / o.seeds),
                        identity_drift(o.rule, c.r_pre_hz, mean_post, c.r_post_slope_hz_per_s),
                        expected_drift(o.rule, c, o.duration_ms)});
    }
    return rows;
}

}  // namespace spikeem
