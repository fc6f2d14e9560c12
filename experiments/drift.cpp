#include "experiments/drift.hpp"

#include <tbb/parallel_for.h>

#include <cmath>
#include <functional>
#include <mutex>
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

}  // namespace

double expected_drift(const PairStdpParams& r, const DriftCase& c, double margin_ms, double duration_ms) {
    // Times in s, rates in Hz.  E[total change] = integral over post spike
    // times b of r_post(b) A+ pot(b) - integral over pre spike times a of
    // r_pre A- dep(a), each an expectation over the spikes before it.
    const double t1 = margin_ms / 1000.0, t2 = t1 + duration_ms / 1000.0, T = t2 + t1;
    const double tp = r.tau_plus_ms / 1000.0, tm = r.tau_minus_ms / 1000.0;
    const double rp = c.r_pre_hz, r0 = c.r_post_hz, s = c.r_post_slope_hz_per_s;
    auto rate = [&](double t) { return std::max(0.0, r0 + s * t); };
    auto R = [&](double t) { return r0 * t + 0.5 * s * t * t; };  // post rate integral (rate kept >= 0)
    auto pre_count = [&](double from, double to) {                   // expected pre spikes in [from, to]
        return rp * std::max(0.0, std::min(to, t2) - std::max(from, t1));
    };
    // dep(a), pre spike at a in [t1, t2]: posts before a (all of them, or the last one).
    const bool all = c.pairing == Pairing::AllToAll;
    auto dep = [&](double a) {
        return simpson(
            [&](double u) { return rate(a - u) * std::exp(-u / tm - (all ? 0.0 : R(a) - R(a - u))); }, 0.0,
            std::min(a, 40.0 * tm), 400);
    };
    // pot(b), post spike at b: pres at b - u, u in [max(0, b - t2), b - t1], weighted by
    // the chance that the pairing scheme lets them pair.
    auto pot = [&](double b) {
        const double lo = std::max(0.0, b - t2), hi = std::min(b - t1, lo + 40.0 * tp);
        if (hi <= lo) return 0.0;
        return simpson(
            [&](double u) {
                double survive = 1.0;
                if (c.pairing == Pairing::NearestSymmetric) survive = std::exp(-pre_count(b - u, b));  // no later pre
                if (c.pairing == Pairing::NearestPresynapticCentred)
                    survive = std::exp(-(R(b) - R(b - u)));  // no post in between
                return rp * std::exp(-u / tp) * survive;
            },
            lo, hi, 400);
    };
    // Outer integrals, split where the integrands have transients (scales tau and 1/rate).
    const double slow = std::max({tp, tm, 1.0 / std::max(rp, 1e-9), 1.0 / std::max(r0, 1e-9)});
    auto over = [&](auto&& f, double a, double b) {
        const double m = std::min(b, a + 40.0 * slow);
        return simpson(f, a, m, 800) + simpson(f, m, b, 2000);
    };
    const double depression = rp * r.a_minus_mV * over(dep, t1, t2);
    const double potentiation = r.a_plus_mV * (over([&](double b) { return rate(b) * pot(b); }, t1, t2) +
                                               over([&](double b) { return rate(b) * pot(b); }, t2, T));
    return (potentiation - depression) / (t2 - t1);
}

NetworkSpec drift_network(const PairStdpParams& rule, const DriftCase& c, const DriftOptions& o, std::uint64_t seed) {
    NetworkSpec s;
    s.name = "drift";
    s.run.duration_ms = o.duration_ms + 2.0 * o.margin_ms;
    s.run.seed = seed;
    s.populations = {PopulationSpec{"pre", o.pre_neurons,
                                    PoissonParams{c.r_pre_hz, o.margin_ms, o.margin_ms + o.duration_ms, 0.0, {}}},
                     PopulationSpec{"post", o.post_neurons,
                                    PoissonParams{c.r_post_hz, 0.0, INFINITY, c.r_post_slope_hz_per_s, {}}}};
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

PairStdpParams zero_integral_window(const PairStdpParams& rule) {
    PairStdpParams r = rule;
    r.a_minus_mV = rule.a_plus_mV * rule.tau_plus_ms / rule.tau_minus_ms;
    return r;
}

std::vector<DriftCase> zero_integral_cases(const DriftOptions& o) {
    const double run_s = (o.duration_ms + 2.0 * o.margin_ms) / 1000.0;
    const double slope = (55.0 - 5.0) / run_s;  // Hz/s
    return {{20.0, 5.0, slope, Pairing::AllToAll}, {20.0, 55.0, -slope, Pairing::AllToAll}};
}

std::vector<DriftRow> measure_drift(const DriftOptions& o, const std::vector<DriftCase>& cases,
                                    const std::function<void(std::size_t, std::size_t)>& progress) {
    const std::size_t n = cases.size() * static_cast<std::size_t>(o.seeds);
    std::vector<double> per_run(n);
    std::mutex progress_mutex;
    std::size_t done = 0;
    tbb::parallel_for(std::size_t{0}, n, [&](std::size_t i) {
        const DriftCase& c = cases[i / o.seeds];
        Simulation sim(drift_network(o.rule, c, o, o.first_seed + i % o.seeds));
        sim.run();
        double sum = 0.0;  // initial weights are 0
        const auto w = sim.weights_now(0);
        for (const auto& x : w) sum += x.w;
        per_run[i] = sum / static_cast<double>(w.size()) / (o.duration_ms / 1000.0);
        if (progress) {
            const std::lock_guard<std::mutex> lock(progress_mutex);
            progress(++done, n);
        }
    });
    std::vector<DriftRow> rows;
    for (std::size_t k = 0; k < cases.size(); ++k) {
        const double* x = per_run.data() + k * o.seeds;
        const double mean = std::accumulate(x, x + o.seeds, 0.0) / o.seeds;
        double var = 0.0;
        for (int j = 0; j < o.seeds; ++j) var += (x[j] - mean) * (x[j] - mean);
        var /= std::max(1, o.seeds - 1);
        const DriftCase& c = cases[k];
        const double mean_post = c.r_post_hz + c.r_post_slope_hz_per_s * (o.margin_ms + o.duration_ms / 2.0) / 1000.0;
        rows.push_back({c, mean, std::sqrt(var / o.seeds),
                        identity_drift(o.rule, c.r_pre_hz, mean_post, c.r_post_slope_hz_per_s),
                        expected_drift(o.rule, c, o.margin_ms, o.duration_ms)});
    }
    return rows;
}

}  // namespace spikeem
