#include "plasticity/gradcheck.hpp"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>

#include "network/simulation.hpp"
#include "plasticity/objectives.hpp"

namespace spikeem {

double slope_factor(SlopeEstimate estimate, double T, double D, double tau) {
    // Mean voltage shift m(t) / Delta, nudge on at 0 and off at D: 1 - e^{-t/tau}
    // during, then the value at D decaying; P is its antiderivative.
    const double at_off = -std::expm1(-D / tau);
    auto P = [&](double t) {
        if (t <= 0) return 0.0;
        if (t <= D) return t + tau * std::expm1(-t / tau);
        return D + tau * std::expm1(-D / tau) + at_off * tau * -std::expm1(-(t - D) / tau);
    };
    const double back = estimate == SlopeEstimate::Central ? T : 0.0;
    // integral over arrivals t in [0, D] of m(t + T) - m(t - back), divided by T + back.
    return ((P(D + T) - P(T)) - (P(D - back) - P(-back))) / (T + back);
}

namespace {

struct Setup {
    std::size_t in = 0, out = 0, proj = 0;
    std::uint32_t n_in = 0, n_out = 0;
    std::vector<double> base_drive;  // per output neuron
    const SupervisedObjectiveSpec* obj = nullptr;
    const StochasticParams* neuron = nullptr;
    const VoltageSlopeParams* rule = nullptr;
};

Setup find(const NetworkSpec& spec) {
    if (!spec.objective) throw std::invalid_argument("the spec declares no objective");
    Setup s;
    s.obj = &std::get<SupervisedObjectiveSpec>(spec.objective->kind);
    auto pop = [&](const std::string& name) {
        for (std::size_t i = 0; i < spec.populations.size(); ++i)
            if (spec.populations[i].name == name) return i;
        throw std::invalid_argument("no population " + name);
    };
    s.in = pop(s.obj->input);
    s.out = pop(s.obj->output);
    for (std::size_t j = 0; j < spec.projections.size(); ++j)
        if (spec.projections[j].name == s.obj->projection) s.proj = j;
    s.n_in = spec.populations[s.in].size;
    s.n_out = spec.populations[s.out].size;
    s.neuron = &std::get<StochasticParams>(spec.populations[s.out].model);
    s.rule = &std::get<VoltageSlopeParams>(spec.projections[s.proj].plasticity->rule);
    s.base_drive.assign(s.n_out, s.neuron->drive_mV);
    return s;
}

std::vector<double> flat_weights(const Simulation& sim, const Setup& s) {
    std::vector<double> w(std::size_t{s.n_in} * s.n_out, 0.0);
    for (const auto& x : sim.weights_now(s.proj)) w[std::size_t{x.pre} * s.n_out + x.post] = x.w;
    return w;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
    double d = 0.0;
    for (std::size_t k = 0; k < a.size(); ++k) d += a[k] * b[k];
    return d;
}

}  // namespace

GradcheckResult run_gradcheck(const NetworkSpec& spec, const GradcheckOptions& o) {
    const Setup s = find(spec);
    const auto& obj = *s.obj;
    const double tau = s.neuron->tau_m_ms;
    const auto& pp = std::get<PoissonParams>(spec.populations[s.in].model);
    std::vector<double> rho(s.n_in);
    for (std::uint32_t i = 0; i < s.n_in; ++i) rho[i] = (pp.rates_hz.empty() ? pp.rate_hz : pp.rates_hz[i]) / 1000.0;
    std::vector<double> offset(s.n_out, s.neuron->v_rest_mV + s.neuron->drive_mV);
    // The objective: the supervised cost, or the Gaussian layer's log-likelihood
    // (causes h_1 = tau rho with the identity read-out, so mu = offset + tau W^T rho).
    std::unique_ptr<objective::Objective> layer;
    if (obj.gaussian) {
        std::vector<double> h = obj.target_mV;
        for (double x : rho) h.push_back(tau * x);
        layer = std::make_unique<objective::LayeredGaussian>(
            std::vector<std::size_t>{s.n_out, s.n_in}, std::vector<double>{obj.sigma_mV, 1.0}, offset,
            std::vector<double>(s.n_in, 0.0), objective::LayeredGaussian::Rho::identity, h);
    } else {
        layer = std::make_unique<objective::SupervisedLayer>(rho, obj.target_mV, offset, tau);
    }

    GradcheckResult r;
    r.cycle_ms = obj.free_ms + obj.nudge_ms;
    // E[dW] = eta lambda F (y - V) tau rho; for the Gaussian layer dJ/dW carries 1/sigma^2 more.
    r.gain_per_cycle = s.rule->eta_ms * obj.nudge_per_ms *
                       slope_factor(s.rule->estimate, s.rule->window_ms, obj.nudge_ms, tau) *
                       (obj.gaussian ? obj.sigma_mV * obj.sigma_mV : 1.0);
    std::vector<std::uint64_t> checkpoints;  // in whole cycles
    for (double t : o.checkpoints_ms)
        checkpoints.push_back(std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::llround(t / r.cycle_ms))));
    std::sort(checkpoints.begin(), checkpoints.end());
    checkpoints.erase(std::unique(checkpoints.begin(), checkpoints.end()), checkpoints.end());
    r.final_cycles = checkpoints.back();

    // The weights at t = 0 are the same for every seed only if they are not
    // random; each seed gets its own gradient in general, so compute per seed.
    const std::size_t n_seeds = o.seeds.size();
    std::vector<std::vector<AlignmentPoint>> per_seed(n_seeds);
    r.final_dw.resize(n_seeds);
    std::vector<std::vector<double>> grads(n_seeds);
    std::vector<double> js(n_seeds);
    tbb::parallel_for(std::size_t{0}, n_seeds, [&](std::size_t k) {
        NetworkSpec run = spec;
        run.run.seed = o.seeds[k];
        run.run.duration_ms = static_cast<double>(r.final_cycles) * r.cycle_ms + 1.0;
        run.record = RecordSpec{};
        Simulation sim(run);
        const TimeBase& tb = sim.time();
        const std::vector<double> w0 = flat_weights(sim, s);
        const std::vector<double> g = layer->dJ_dW(w0);
        grads[k] = g;
        js[k] = layer->J(w0);
        std::size_t next = 0;
        double t = 0.0;
        std::vector<double> v_hat(s.n_out);
        for (std::uint64_t c = 1; c <= r.final_cycles; ++c) {
            // Free phase: learning off; measure V over the second half.
            sim.set_plasticity_gain(s.proj, 0.0);
            for (std::uint32_t j = 0; j < s.n_out; ++j) sim.set_drive(s.out, j, s.base_drive[j]);
            std::fill(v_hat.begin(), v_hat.end(), 0.0);
            const int samples = 50;
            for (int m = 0; m < samples; ++m) {
                sim.run_until(tb.round(t + obj.free_ms * (0.5 + 0.5 * (m + 0.5) / samples)));
                for (std::uint32_t j = 0; j < s.n_out; ++j) v_hat[j] += sim.observe_voltage(s.out, j) / samples;
            }
            t += obj.free_ms;
            sim.run_until(tb.round(t));
            // Nudged phase: the target current, learning on.
            for (std::uint32_t j = 0; j < s.n_out; ++j)
                sim.set_drive(s.out, j, s.base_drive[j] + obj.nudge_per_ms * tau * (obj.target_mV[j] - v_hat[j]));
            sim.set_plasticity_gain(s.proj, 1.0);
            t += obj.nudge_ms;
            sim.run_until(tb.round(t));
            if (c == checkpoints[next]) {
                // Let the last probes (t + T) of this nudge land before reading the weights.
                sim.set_plasticity_gain(s.proj, 0.0);
                for (std::uint32_t j = 0; j < s.n_out; ++j) sim.set_drive(s.out, j, s.base_drive[j]);
                const double settle = 2.0 * s.rule->window_ms;
                sim.run_until(tb.round(t + settle));
                std::vector<double> dw = flat_weights(sim, s);
                for (std::size_t q = 0; q < dw.size(); ++q) dw[q] -= w0[q];
                std::vector<double> e(g.size());
                for (std::size_t q = 0; q < g.size(); ++q) e[q] = r.gain_per_cycle * static_cast<double>(c) * g[q];
                const double n = static_cast<double>(dw.size());
                double mdw = 0.0, mg = 0.0;
                for (std::size_t q = 0; q < dw.size(); ++q) mdw += dw[q] / n, mg += g[q] / n;
                double sxy = 0.0, sxx = 0.0, syy = 0.0, res = 0.0;
                for (std::size_t q = 0; q < dw.size(); ++q) {
                    sxy += (dw[q] - mdw) * (g[q] - mg);
                    sxx += (dw[q] - mdw) * (dw[q] - mdw);
                    syy += (g[q] - mg) * (g[q] - mg);
                    res += (dw[q] - e[q]) * (dw[q] - e[q]);
                }
                per_seed[k].push_back({static_cast<double>(c) * r.cycle_ms, o.seeds[k], c,
                                       dot(dw, g) / std::sqrt(dot(dw, dw) * dot(g, g)), sxy / std::sqrt(sxx * syy),
                                       dot(dw, e) / dot(e, e), std::sqrt(res / dot(e, e))});
                if (c == r.final_cycles) r.final_dw[k] = dw;
                ++next;
            }
        }
    });
    r.gradients = std::move(grads);
    r.J = std::move(js);
    for (std::size_t c = 0; c < checkpoints.size(); ++c)
        for (std::size_t k = 0; k < n_seeds; ++k) r.points.push_back(per_seed[k][c]);
    return r;
}

}  // namespace spikeem
