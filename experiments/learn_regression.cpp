#include "experiments/learn_regression.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include "network/simulation.hpp"
#include "experiments/gradcheck.hpp"
#include "experiments/objectives.hpp"

namespace spikeem {

RegressionLayer regression_layer(const NetworkSpec& spec) {
    const auto& obj = std::get<SupervisedObjectiveSpec>(spec.objective->kind);
    auto pop = [&](const std::string& name) {
        for (std::size_t i = 0; i < spec.populations.size(); ++i)
            if (spec.populations[i].name == name) return i;
        throw std::invalid_argument("no population " + name);
    };
    RegressionLayer l;
    l.input = pop(obj.input);
    l.output = pop(obj.output);
    for (std::size_t k = 0; k < spec.projections.size(); ++k)
        if (spec.projections[k].name == obj.projection) l.projection = k;
    l.n_in = spec.populations[l.input].size;
    l.n_out = spec.populations[l.output].size;
    return l;
}

namespace {

constexpr double kRateLowHz = 5.0, kRateHighHz = 50.0;
constexpr double kWStarMv = 0.5;  // W*_ij uniform in [-kWStarMv, kWStarMv] mV

struct SplitMix64 {
    std::uint64_t s;
    std::uint64_t next() {
        std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    double uniform(double lo, double hi) { return lo + (hi - lo) * static_cast<double>(next() >> 11) * 0x1.0p-53; }
};

RegressionTask make_task(std::uint64_t seed, std::size_t n_in, std::size_t n_out, const std::vector<double>& offset,
                         double tau) {
    SplitMix64 rng{seed};
    RegressionTask t;
    t.rates_hz.assign(kRegressionPatterns, std::vector<double>(n_in));
    for (auto& r : t.rates_hz)
        for (double& x : r) x = rng.uniform(kRateLowHz, kRateHighHz);
    t.w_star.resize(n_in * n_out);
    for (double& w : t.w_star) w = rng.uniform(-kWStarMv, kWStarMv);
    for (const auto& r : t.rates_hz) {
        std::vector<double> rho(n_in);
        for (std::size_t i = 0; i < n_in; ++i) rho[i] = r[i] / 1000.0;
        // y = V(W*) of the same rate model the losses use.
        objective::SupervisedLayer l(rho, std::vector<double>(n_out, 0.0), offset, tau);
        t.y.push_back(l.V(t.w_star));
    }
    return t;
}

double norm(const std::vector<double>& a) {
    double s = 0.0;
    for (double x : a) s += x * x;
    return std::sqrt(s);
}

std::vector<double> minus(const std::vector<double>& a, const std::vector<double>& b) {
    std::vector<double> d(a.size());
    for (std::size_t k = 0; k < a.size(); ++k) d[k] = a[k] - b[k];
    return d;
}

// Orthonormal basis of span{rho_p} (Gram-Schmidt, two passes), for the distance split.
std::vector<std::vector<double>> pattern_basis(const std::vector<std::vector<double>>& rates_hz, std::size_t n_in) {
    std::vector<std::vector<double>> basis;
    for (const auto& r : rates_hz) {
        std::vector<double> v = r;
        for (int pass = 0; pass < 2; ++pass)
            for (const auto& q : basis) {
                double c = 0.0;
                for (std::size_t i = 0; i < n_in; ++i) c += q[i] * v[i];
                for (std::size_t i = 0; i < n_in; ++i) v[i] -= c * q[i];
            }
        const double nv = norm(v);
        if (nv > 1e-9 * norm(r)) {
            for (double& x : v) x /= nv;
            basis.push_back(v);
        }
    }
    return basis;
}

// Splits d (pre-major, n_in x n_out) into its part in span{rho_p} (per output
// column: the only directions any gradient step moves) and the rest; returns
// (||span part||, ||null part||).
std::pair<double, double> split_norms(const std::vector<double>& d, const std::vector<std::vector<double>>& basis,
                                      std::size_t n_in, std::size_t n_out) {
    double in_span = 0.0, total = 0.0;
    for (std::size_t j = 0; j < n_out; ++j) {
        for (const auto& q : basis) {
            double c = 0.0;
            for (std::size_t i = 0; i < n_in; ++i) c += q[i] * d[i * n_out + j];
            in_span += c * c;
        }
        for (std::size_t i = 0; i < n_in; ++i) total += d[i * n_out + j] * d[i * n_out + j];
    }
    return {std::sqrt(in_span), std::sqrt(std::max(0.0, total - in_span))};
}

// What the lockstep run needs besides the spec: the layer, its neuron and
// objective, the task as rate models (one per pattern), and the rate model's step.
struct Lockstep {
    RegressionLayer layer;
    const SupervisedObjectiveSpec* obj = nullptr;
    const StochasticParams* neuron = nullptr;
    std::vector<objective::SupervisedLayer> layers;  // per pattern
    std::vector<std::vector<double>> basis;          // of span{rho_p}
    double settle_ms = 0.0;                          // 2T: the last Eq. 1 probes of a nudge land within it
    double gain = 0.0;                               // E[dW] per cycle = gain * dJ_p/dW

    // The loss: -J averaged over the patterns (mV^2).
    double loss(const std::vector<double>& w) const {
        double l = 0.0;
        for (const auto& layer : layers) l -= layer.J(w) / static_cast<double>(kRegressionPatterns);
        return l;
    }
};

// The spiking run and the rate model in lockstep, cycle by cycle; fills r.rows,
// r.w0, r.w_spiking_end, r.w_rate_end and r.wall_s.
void run_lockstep(NetworkSpec spec, const Lockstep& ls, const LearnRegressionOptions& o, LearnRegressionResult& r) {
    const std::size_t in = ls.layer.input, out = ls.layer.output, proj = ls.layer.projection;
    const std::size_t n_in = ls.layer.n_in, n_out = ls.layer.n_out;
    const SupervisedObjectiveSpec& obj = *ls.obj;
    const double drive = ls.neuron->drive_mV, tau = ls.neuron->tau_m_ms;
    const auto wall0 = std::chrono::steady_clock::now();
    const std::uint64_t cycles = o.epochs * kRegressionPatterns;
    spec.run.duration_ms = static_cast<double>(cycles) * r.cycle_ms + ls.settle_ms + 1.0;
    spec.record = RecordSpec{};
    Simulation sim(spec);
    const TimeBase& tb = sim.time();
    auto weights = [&] {
        std::vector<double> w(n_in * n_out, 0.0);
        for (const auto& x : sim.weights_now(proj)) w[std::size_t{x.pre} * n_out + x.post] = x.w;
        return w;
    };
    const std::vector<double> w0 = weights();
    std::vector<double> w_rate = w0;
    auto record = [&](std::size_t epoch, double t_ms) {
        const std::vector<double> ws = weights();
        const double moved = norm(minus(w_rate, w0));
        const auto d = minus(ws, w_rate);
        const auto [span, null] = split_norms(d, ls.basis, n_in, n_out);
        const double nan = std::nan("");
        r.rows.push_back({epoch, t_ms, ls.loss(ws), ls.loss(w_rate), moved > 0 ? norm(d) / moved : nan,
                          moved > 0 ? span / moved : nan, moved > 0 ? null / moved : nan});
    };
    record(0, 0.0);

    for (std::uint64_t c = 0; c <= cycles; ++c) {
        const double t = static_cast<double>(c) * r.cycle_ms;
        // Free phase: learning off, base drive, this cycle's pattern.
        sim.set_plasticity_gain(proj, 0.0);
        for (std::uint32_t j = 0; j < n_out; ++j) sim.set_drive(out, j, drive);
        // Let the previous nudge's last probes (t + T) land, then read the epoch's weights.
        sim.run_until(tb.round(t + ls.settle_ms));
        if (c > 0 && c % kRegressionPatterns == 0) record(c / kRegressionPatterns, t);
        if (c == cycles) break;
        // Only now switch the inputs to this cycle's pattern: switched at t, the new
        // pattern's voltage drift would enter the slopes read by those last probes
        // (a bias ~ rho_p (V_{p+1} - V_p), not part of E[dW] = g dJ/dW).
        const std::size_t p = c % kRegressionPatterns;
        for (std::uint32_t i = 0; i < n_in; ++i) sim.set_rate(in, i, r.task.rates_hz[p][i]);
        const std::vector<double> v_hat = free_phase_voltages(sim, out, n_out, t, obj.free_ms);
        // Nudged phase: target current lambda (y - V_hat), learning on.
        for (std::uint32_t j = 0; j < n_out; ++j)
            sim.set_drive(out, j, drive + obj.nudge_per_ms * tau * (r.task.y[p][j] - v_hat[j]));
        sim.set_plasticity_gain(proj, 1.0);
        sim.run_until(tb.round(t + r.cycle_ms));
        // The rate model: exactly the expected step of this cycle.
        const std::vector<double> g = ls.layers[p].dJ_dW(w_rate);
        for (std::size_t k = 0; k < g.size(); ++k) w_rate[k] += ls.gain * g[k];
        if (o.progress) o.progress(static_cast<std::size_t>(c + 1), static_cast<std::size_t>(cycles));
    }
    r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    r.w0 = w0;
    r.w_spiking_end = weights();
    r.w_rate_end = std::move(w_rate);
}

// The summary of the relative distance (LearnRegressionResult).
void summarize(LearnRegressionResult& r) {
    const auto& rows = r.rows;
    std::size_t under_way = rows.size() - 1;
    for (std::size_t k = 1; k < rows.size(); ++k)
        if (rows[k].loss_rate <= 0.9 * rows.front().loss_rate) {
            under_way = k;
            break;
        }
    double max_rel = 0.0, min_rel = INFINITY;
    std::size_t min_at = under_way;
    for (std::size_t k = under_way; k < rows.size(); ++k) {
        max_rel = std::max(max_rel, rows[k].rel_distance);
        if (rows[k].rel_distance < min_rel) min_rel = rows[k].rel_distance, min_at = k;
    }
    r.epoch_under_way = under_way;
    r.rel_distance_max_from_under_way = max_rel;
    r.rel_distance_min = min_rel;
    r.rel_distance_min_epoch = min_at;
}

}  // namespace

LearnRegressionResult run_learn_regression(const NetworkSpec& spec, const LearnRegressionOptions& o) {
    if (!spec.objective || !std::holds_alternative<SupervisedObjectiveSpec>(spec.objective->kind))
        throw std::invalid_argument("learn_regression needs a supervised objective");
    const auto& obj = std::get<SupervisedObjectiveSpec>(spec.objective->kind);
    if (obj.gaussian) throw std::invalid_argument("learn_regression needs a supervised objective, not a gaussian_layer");
    Lockstep ls;
    ls.layer = regression_layer(spec);
    ls.obj = &obj;
    ls.neuron = &std::get<StochasticParams>(spec.populations[ls.layer.output].model);
    const auto& rule = std::get<VoltageSlopeParams>(spec.projections[ls.layer.projection].plasticity->rule);
    ls.settle_ms = 2.0 * rule.window_ms;
    if (!(obj.free_ms > 2.0 * ls.settle_ms))
        throw std::invalid_argument(
            fmt::format("free_ms = {} must exceed 4 x the rule's window ({} ms)", obj.free_ms, 2.0 * ls.settle_ms));
    if (o.epochs < 1) throw std::invalid_argument("epochs must be at least 1");

    LearnRegressionResult r;
    r.n_in = ls.layer.n_in;
    r.n_out = ls.layer.n_out;
    r.cycle_ms = obj.free_ms + obj.nudge_ms;
    const double tau = ls.neuron->tau_m_ms;
    const std::vector<double> offset(r.n_out, ls.neuron->v_rest_mV + ls.neuron->drive_mV);
    r.task = make_task(o.task_seed, r.n_in, r.n_out, offset, tau);
    for (std::size_t p = 0; p < kRegressionPatterns; ++p) {
        std::vector<double> rho(r.n_in);
        for (std::size_t i = 0; i < r.n_in; ++i) rho[i] = r.task.rates_hz[p][i] / 1000.0;
        ls.layers.emplace_back(rho, r.task.y[p], offset, tau);
    }
    ls.basis = pattern_basis(r.task.rates_hz, r.n_in);
    r.slope_factor = slope_factor(rule.estimate, rule.window_ms, obj.nudge_ms, tau);
    r.gain_per_cycle = rule.eta_ms * obj.nudge_per_ms * r.slope_factor;
    ls.gain = r.gain_per_cycle;

    run_lockstep(spec, ls, o, r);
    summarize(r);
    return r;
}

}  // namespace spikeem
