#include "experiments/gradcheck.hpp"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>

#include "network/simulation.hpp"
#include "experiments/objectives.hpp"

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

std::vector<double> free_phase_voltages(Simulation& sim, std::size_t population, std::uint32_t n, double t_ms,
                                        double free_ms, double end_gap_ms) {
    if (!(end_gap_ms >= 0.0 && end_gap_ms < free_ms))
        throw std::invalid_argument("free_phase_voltages: end_gap_ms must be in [0, free_ms)");
    const TimeBase& tb = sim.time();
    const int samples = 50;
    const double span_ms = free_ms - end_gap_ms;
    std::vector<double> v_hat(n, 0.0);
    for (int m = 0; m < samples; ++m) {
        sim.run_until(tb.round(t_ms + span_ms * (0.5 + 0.5 * (m + 0.5) / samples)));
        for (std::uint32_t j = 0; j < n; ++j) v_hat[j] += sim.observe_voltage(population, j) / samples;
    }
    sim.run_until(tb.round(t_ms + free_ms));
    return v_hat;
}

namespace {

std::size_t population_index(const NetworkSpec& spec, const std::string& name) {
    for (std::size_t i = 0; i < spec.populations.size(); ++i)
        if (spec.populations[i].name == name) return i;
    throw std::invalid_argument("no population " + name);
}

struct Setup {
    std::size_t in = 0, out = 0, proj = 0;
    std::uint32_t n_in = 0, n_out = 0;
    std::vector<double> base_drive;  // per output neuron
    const SupervisedObjectiveSpec* obj = nullptr;
    const StochasticParams* neuron = nullptr;
    const VoltageSlopeParams* rule = nullptr;
};

Setup find(const NetworkSpec& spec) {
    Setup s;
    s.obj = &std::get<SupervisedObjectiveSpec>(spec.objective->kind);
    s.in = population_index(spec, s.obj->input);
    s.out = population_index(spec, s.obj->output);
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

// Checkpoints in whole cycles, ascending, distinct, at least 1.
std::vector<std::uint64_t> checkpoint_cycles(const GradcheckOptions& o, double cycle_ms) {
    std::vector<std::uint64_t> c;
    for (double t : o.checkpoints_ms)
        c.push_back(std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::llround(t / cycle_ms))));
    std::sort(c.begin(), c.end());
    c.erase(std::unique(c.begin(), c.end()), c.end());
    return c;
}

double cosine_of(const std::vector<double>& a, const std::vector<double>& b) {
    const double n = std::sqrt(dot(a, a) * dot(b, b));
    return n > 0.0 ? dot(a, b) / n : 0.0;
}

// a minus its projection on the unit direction of n.
std::vector<double> orthogonal_to(std::vector<double> a, const std::vector<double>& n) {
    const double nn = dot(n, n);
    if (nn == 0.0) return a;
    const double c = dot(a, n) / nn;
    for (std::size_t q = 0; q < a.size(); ++q) a[q] -= c * n[q];
    return a;
}

// The alignment of one group (AlignmentPoint): the slices [begin, end) of dW,
// dJ/dW (g), its predicted expectation (e), the null guess and the signs.
struct GroupVectors {
    const std::vector<double> *dw, *g, *e, *null, *signs;
};

AlignmentPoint align(double t_ms, std::uint64_t seed, std::uint64_t cycles, std::size_t group_index,
                     const WeightGroup& group, const GroupVectors& v) {
    auto slice = [&](const std::vector<double>& x) {
        return std::vector<double>(x.begin() + static_cast<std::ptrdiff_t>(group.begin),
                                   x.begin() + static_cast<std::ptrdiff_t>(group.end));
    };
    const std::vector<double> dw = slice(*v.dw), g = slice(*v.g), e = slice(*v.e), nul = slice(*v.null),
                              sig = slice(*v.signs);
    const double n = static_cast<double>(dw.size());
    double mdw = 0.0, mg = 0.0;
    for (std::size_t q = 0; q < dw.size(); ++q) mdw += dw[q] / n, mg += g[q] / n;
    double sxy = 0.0, sxx = 0.0, syy = 0.0, res = 0.0;
    std::vector<double> shuffled(dw.size());
    for (std::size_t q = 0; q < dw.size(); ++q) {
        sxy += (dw[q] - mdw) * (g[q] - mg);
        sxx += (dw[q] - mdw) * (dw[q] - mdw);
        syy += (g[q] - mg) * (g[q] - mg);
        res += (dw[q] - e[q]) * (dw[q] - e[q]);
        shuffled[q] = sig[q] * dw[q];
    }
    AlignmentPoint p;
    p.t_ms = t_ms, p.seed = seed, p.cycles = cycles, p.group = group_index;
    p.cosine = cosine_of(dw, g);
    p.null_cosine = cosine_of(nul, g);
    p.shuffled_cosine = cosine_of(shuffled, g);
    p.cosine_beyond_null = cosine_of(orthogonal_to(dw, nul), orthogonal_to(g, nul));
    p.pearson = sxy / std::sqrt(sxx * syy);
    p.slope = dot(dw, e) / dot(e, e);
    p.rel_error = std::sqrt(res / dot(e, e));
    return p;
}

// Checkpoint-major, then seed, then group, from per-seed lists (checkpoint, group).
void collect_points(GradcheckResult& r, const std::vector<std::vector<AlignmentPoint>>& per_seed, std::size_t n_checkpoints) {
    const std::size_t G = r.groups.size();
    for (std::size_t c = 0; c < n_checkpoints; ++c)
        for (const auto& ps : per_seed)
            for (std::size_t k = 0; k < G; ++k) r.points.push_back(ps[c * G + k]);
}

// Every group's point of one seed at one checkpoint, appended to `out`.
void align_groups(std::vector<AlignmentPoint>& out, const GradcheckResult& r, double t_ms, std::uint64_t seed,
                  std::uint64_t cycles, const GroupVectors& v) {
    for (std::size_t k = 0; k < r.groups.size(); ++k) out.push_back(align(t_ms, seed, cycles, k, r.groups[k], v));
}

GradcheckResult run_energy(const NetworkSpec& spec, const GradcheckOptions& o);

// Cycles done over every seed, for GradcheckOptions::progress (one call at a time).
class CycleCounter {
public:
    CycleCounter(const GradcheckOptions& o, std::uint64_t cycles_per_seed)
        : progress_(o.progress), total_(o.seeds.size() * static_cast<std::size_t>(cycles_per_seed)) {}
    void cycle_done() {
        if (!progress_) return;
        const std::lock_guard<std::mutex> lock(mutex_);
        progress_(++done_, total_);
    }

private:
    const std::function<void(std::size_t, std::size_t)>& progress_;
    std::size_t total_, done_ = 0;
    std::mutex mutex_;
};

}  // namespace

std::vector<double> shuffled_signs(std::uint64_t seed, std::size_t n) {
    std::mt19937_64 bits(seed * 0x9E3779B97F4A7C15ULL + 0x5111FF1EDULL);
    std::vector<double> s(n);
    for (double& x : s) x = (bits() >> 63) ? 1.0 : -1.0;
    return s;
}

std::vector<AlignmentSummary> summarize(const GradcheckResult& r) {
    std::map<std::pair<double, std::size_t>, std::vector<const AlignmentPoint*>> by;
    for (const auto& p : r.points) by[{p.t_ms, p.group}].push_back(&p);
    auto stat = [](const std::vector<double>& x) {
        MeanSe m;
        const double n = static_cast<double>(x.size());
        for (double v : x) m.mean += v / n;
        double s2 = 0.0;
        for (double v : x) s2 += (v - m.mean) * (v - m.mean);
        m.se = x.size() > 1 ? std::sqrt(s2 / (n - 1.0) / n) : 0.0;
        return m;
    };
    std::vector<AlignmentSummary> out;
    for (const auto& entry : by) {
        // Not a structured binding: the lambda below captures ps, which clang before 16 refuses.
        const auto& key = entry.first;
        const auto& ps = entry.second;
        AlignmentSummary a;
        a.t_ms = key.first, a.group = key.second, a.seeds = ps.size();
        auto field = [&](double AlignmentPoint::*f) {
            std::vector<double> x;
            for (const auto* p : ps) x.push_back(p->*f);
            return stat(x);
        };
        std::vector<double> gap;
        for (const auto* p : ps) gap.push_back(p->cosine - std::max(p->null_cosine, p->shuffled_cosine));
        a.cosine = field(&AlignmentPoint::cosine);
        a.null_cosine = field(&AlignmentPoint::null_cosine);
        a.shuffled_cosine = field(&AlignmentPoint::shuffled_cosine);
        a.cosine_beyond_null = field(&AlignmentPoint::cosine_beyond_null);
        a.slope = field(&AlignmentPoint::slope);
        a.rel_error = field(&AlignmentPoint::rel_error);
        a.gap = stat(gap);
        a.aligned = a.gap.mean > 3.0 * a.gap.se && a.gap.mean > 0.0 &&
                    a.cosine_beyond_null.mean > 3.0 * a.cosine_beyond_null.se && a.cosine_beyond_null.mean > 0.0;
        out.push_back(a);
    }
    return out;
}

GradcheckResult run_gradcheck(const NetworkSpec& spec, const GradcheckOptions& o) {
    if (!spec.objective) throw std::invalid_argument("the spec declares no objective");
    if (std::holds_alternative<EnergyObjectiveSpec>(spec.objective->kind)) return run_energy(spec, o);
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
    const std::vector<std::uint64_t> checkpoints = checkpoint_cycles(o, r.cycle_ms);
    r.final_cycles = checkpoints.back();
    const std::size_t n_w = std::size_t{s.n_in} * s.n_out;
    r.groups = {WeightGroup{spec.projections[s.proj].name, 0, n_w, 1.0}};
    std::vector<double> null(n_w);  // the error-free guess: input rate times target
    for (std::uint32_t i = 0; i < s.n_in; ++i)
        for (std::uint32_t j = 0; j < s.n_out; ++j) null[std::size_t{i} * s.n_out + j] = rho[i] * obj.target_mV[j];
    r.null_guess.assign(o.seeds.size(), null);

    // The weights at t = 0 are the same for every seed only if they are not
    // random; each seed gets its own gradient in general, so compute per seed.
    const std::size_t n_seeds = o.seeds.size();
    std::vector<std::vector<AlignmentPoint>> per_seed(n_seeds);
    r.final_dw.resize(n_seeds);
    r.final_expected.resize(n_seeds);
    std::vector<std::vector<double>> grads(n_seeds);
    std::vector<double> js(n_seeds);
    CycleCounter cycles(o, r.final_cycles);
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
        for (std::uint64_t c = 1; c <= r.final_cycles; ++c) {
            // Free phase: learning off; measure V over the second half.
            sim.set_plasticity_gain(s.proj, 0.0);
            for (std::uint32_t j = 0; j < s.n_out; ++j) sim.set_drive(s.out, j, s.base_drive[j]);
            const std::vector<double> v_hat = free_phase_voltages(sim, s.out, s.n_out, t, obj.free_ms);
            t += obj.free_ms;
            // Nudged phase: the target current, learning on.
            for (std::uint32_t j = 0; j < s.n_out; ++j)
                sim.set_drive(s.out, j, s.base_drive[j] + obj.nudge_per_ms * tau * (obj.target_mV[j] - v_hat[j]));
            sim.set_plasticity_gain(s.proj, 1.0);
            t += obj.nudge_ms;
            sim.run_until(tb.round(t));
            cycles.cycle_done();
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
                const std::vector<double> signs = shuffled_signs(o.seeds[k], dw.size());
                align_groups(per_seed[k], r, static_cast<double>(c) * r.cycle_ms, o.seeds[k], c,
                             {&dw, &g, &e, &null, &signs});
                if (c == r.final_cycles) r.final_dw[k] = dw, r.final_expected[k] = e;
                ++next;
            }
        }
    });
    r.gradients = std::move(grads);
    r.J = std::move(js);
    collect_points(r, per_seed, checkpoints.size());
    return r;
}

namespace {

// ---- the energy objective

struct EnergySetup {
    const EnergyObjectiveSpec* obj = nullptr;
    std::vector<std::size_t> pops;                // per layer
    std::vector<std::size_t> fwd;                 // projection k: layer k -> k + 1
    std::vector<std::optional<std::size_t>> back; // its transpose (k >= 1)
    std::vector<std::size_t> sizes;
    const StochasticParams* neuron = nullptr;     // shared by the free layers
    std::vector<double> x, bias;                  // inputs; biases of the free units (EnergyNetwork layout)
    double c = 0.0;                               // W = c w: beta_v tau_m rho_max
    std::vector<double> base_drive;               // per output neuron (mV)
};

EnergySetup find_energy(const NetworkSpec& spec) {
    EnergySetup s;
    s.obj = &std::get<EnergyObjectiveSpec>(spec.objective->kind);
    for (const auto& name : s.obj->layers) {
        s.pops.push_back(population_index(spec, name));
        s.sizes.push_back(spec.populations[s.pops.back()].size);
    }
    for (const auto& name : s.obj->projections) {
        std::optional<std::size_t> f, b;
        for (std::size_t j = 0; j < spec.projections.size(); ++j) {
            if (spec.projections[j].name == name) f = j;
            if (spec.projections[j].transpose_of == name) b = j;
        }
        if (!f) throw std::invalid_argument("no projection " + name);
        s.fwd.push_back(*f);
        s.back.push_back(s.fwd.size() > 1 ? b : std::nullopt);
    }
    s.neuron = &std::get<StochasticParams>(spec.populations[s.pops[1]].model);
    const auto& n = *s.neuron;
    const auto& in = std::get<PoissonParams>(spec.populations[s.pops[0]].model);
    for (std::size_t i = 0; i < s.sizes[0]; ++i)
        s.x.push_back((in.rates_hz.empty() ? in.rate_hz : in.rates_hz[i]) / n.rho_max_hz);
    for (std::size_t k = 1; k < s.pops.size(); ++k) {
        const auto& p = std::get<StochasticParams>(spec.populations[s.pops[k]].model);
        for (std::size_t i = 0; i < s.sizes[k]; ++i) s.bias.push_back(n.beta_per_mV * (p.v_rest_mV + p.drive_mV - n.theta_mV));
    }
    s.c = n.beta_per_mV * n.tau_m_ms * n.rho_max_hz / 1000.0;
    const auto& out = std::get<StochasticParams>(spec.populations[s.pops.back()].model);
    s.base_drive.assign(s.sizes.back(), out.drive_mV);
    return s;
}

// The weights of the forward projections in EnergyNetwork's layout (mV).
std::vector<double> flat_energy_weights(const Simulation& sim, const EnergySetup& s) {
    std::size_t total = 0;
    for (std::size_t k = 0; k + 1 < s.sizes.size(); ++k) total += s.sizes[k] * s.sizes[k + 1];
    std::vector<double> w(total, 0.0);
    std::size_t off = 0;
    for (std::size_t k = 0; k + 1 < s.sizes.size(); ++k) {
        for (const auto& x : sim.weights_now(s.fwd[k])) w[off + std::size_t{x.pre} * s.sizes[k + 1] + x.post] = x.w;
        off += s.sizes[k] * s.sizes[k + 1];
    }
    return w;
}

// The energy protocol's gap between the end of the V_hat measurement and the nudge, in
// membrane time constants (e^-3: the measurement's noise has decayed to 5% at the onset).
constexpr double kEnergyMeasureGapTaus = 3.0;

// A duration in steps of the grid of expected_nudge (h ms).
std::ptrdiff_t grid_steps(double ms, double h) { return static_cast<std::ptrdiff_t>(std::llround(ms / h)); }

// The Eq. 1 rule of one projection on that grid: the rule's gain times `sign`,
// the delay (at least one step), the window ahead (at least one step unless
// analytic) and behind (central difference), in steps.
struct GridRule {
    double eta;
    std::ptrdiff_t delay, ahead, behind;  // in steps: d, T, Tb
    bool analytic;
};

GridRule grid_rule(const ProjectionSpec& pj, double sign, double h) {
    const auto& vs = std::get<VoltageSlopeParams>(pj.plasticity->rule);
    GridRule r{vs.eta_ms * sign, std::max<std::ptrdiff_t>(1, grid_steps(std::get<double>(pj.delay_ms), h)),
               grid_steps(vs.window_ms, h), vs.estimate == SlopeEstimate::Central ? grid_steps(vs.window_ms, h) : 0,
               vs.estimate == SlopeEstimate::Analytic};
    if (!r.analytic) r.ahead = std::max<std::ptrdiff_t>(r.ahead, 1);
    return r;
}

// E[dW] (mV, EnergyNetwork layout) of one nudge with force sign beta (y - rho(s*))
// on the output and the rule's gain `sign`, from the mean-field trajectory of
// the rate network (header comment), integrated by Heun's method on a 5 us grid
// with the delays rounded to it; t = 0 is the onset of the nudge, from the free fixed point.
std::vector<double> expected_nudge(const NetworkSpec& spec, const EnergySetup& es, const std::vector<double>& W,
                                   const std::vector<double>& s_star, double sign) {
    const double h = 0.005, tau = es.neuron->tau_m_ms, bv = es.neuron->beta_per_mV;
    const double rmax = es.neuron->rho_max_hz / 1000.0;  // 1/ms
    const std::size_t L = es.sizes.size() - 1;
    std::vector<GridRule> fwd(L), back(L);  // back[k]: all zero where projection k has no transpose
    std::ptrdiff_t before = 1, after = 1;  // history needed before 0, trajectory needed after D
    for (std::size_t k = 0; k < L; ++k) {
        fwd[k] = grid_rule(spec.projections[es.fwd[k]], sign, h);
        if (es.back[k]) back[k] = grid_rule(spec.projections[*es.back[k]], sign, h);
        for (const GridRule* r : {&fwd[k], &back[k]}) {
            before = std::max(before, r->delay + r->behind);
            after = std::max(after, r->ahead);
        }
    }
    const std::ptrdiff_t nD = std::max<std::ptrdiff_t>(1, grid_steps(es.obj->nudge_ms, h));
    const std::ptrdiff_t N = before + nD + after + 1;
    const std::size_t nf = s_star.size();
    std::vector<std::size_t> off(L + 2, 0);  // free-unit offset of layer k (k >= 1)
    for (std::size_t k = 1; k <= L; ++k) off[k + 1] = off[k] + es.sizes[k];
    std::vector<std::size_t> woff(L + 1, 0);
    for (std::size_t k = 0; k < L; ++k) woff[k + 1] = woff[k] + es.sizes[k] * es.sizes[k + 1];
    auto rho = [](double v) { return std::clamp(v, 0.0, 1.0); };

    // traj[n * nf + u]: unit u at step n - before (n = 0 .. N-1).
    std::vector<double> traj(static_cast<std::size_t>(N) * nf);
    for (std::ptrdiff_t n = 0; n <= before; ++n) std::copy(s_star.begin(), s_star.end(), traj.begin() + n * nf);
    const std::size_t n_out = es.sizes[L];
    std::vector<double> force(n_out);
    for (std::size_t j = 0; j < n_out; ++j) force[j] = sign * es.obj->beta * (es.obj->target[j] - rho(s_star[off[L] + j]));
    auto at = [&](std::ptrdiff_t n, std::size_t u) { return traj[static_cast<std::size_t>(n) * nf + u]; };
    // The drift tau ds/dt of every unit at step n, with its own state taken from `own`.
    auto drift = [&](std::ptrdiff_t n, const double* own, std::vector<double>& out) {
        const std::ptrdiff_t t = n - before;
        for (std::size_t k = 1; k <= L; ++k)
            for (std::size_t j = 0; j < es.sizes[k]; ++j) {
                const std::size_t u = off[k] + j;
                double in = es.bias[u] - own[u];
                for (std::size_t i = 0; i < es.sizes[k - 1]; ++i) {
                    const double pre = k == 1 ? es.x[i] : rho(at(n - fwd[k - 1].delay, off[k - 1] + i));
                    in += W[woff[k - 1] + i * es.sizes[k] + j] * pre;
                }
                if (k < L)
                    for (std::size_t m = 0; m < es.sizes[k + 1]; ++m)
                        in += W[woff[k] + j * es.sizes[k + 1] + m] * rho(at(n - back[k].delay, off[k + 1] + m));
                if (k == L && t >= 0 && t < nD) in += force[j];
                out[u] = in;
            }
    };
    std::vector<double> f0(nf), f1(nf), pred(nf);
    std::vector<double> dsdt(static_cast<std::size_t>(N) * nf, 0.0);
    for (std::ptrdiff_t n = before; n + 1 < N; ++n) {
        const double* cur = &traj[static_cast<std::size_t>(n) * nf];
        drift(n, cur, f0);
        for (std::size_t u = 0; u < nf; ++u) pred[u] = cur[u] + h / tau * f0[u];
        drift(n + 1, pred.data(), f1);
        for (std::size_t u = 0; u < nf; ++u) {
            traj[static_cast<std::size_t>(n + 1) * nf + u] = cur[u] + h / tau * 0.5 * (f0[u] + f1[u]);
            dsdt[static_cast<std::size_t>(n) * nf + u] = f0[u] / tau;
        }
    }
    // r(pre at emission) * slope(post) summed over arrivals t in [0, D) (midpoint of each step).
    auto rate = [&](std::size_t layer, std::size_t i, std::ptrdiff_t n) {
        return rmax * (layer == 0 ? es.x[i] : rho(at(n, off[layer] + i)));
    };
    auto slope = [&](const GridRule& r, std::size_t u, std::ptrdiff_t n) {
        if (r.analytic) return dsdt[static_cast<std::size_t>(n) * nf + u] / bv;
        return (at(n + r.ahead, u) - at(n - r.behind, u)) / (bv * h * static_cast<double>(r.ahead + r.behind));
    };
    std::vector<double> e(woff[L], 0.0);
    for (std::size_t k = 0; k < L; ++k)
        for (std::size_t i = 0; i < es.sizes[k]; ++i)
            for (std::size_t j = 0; j < es.sizes[k + 1]; ++j) {
                double sum = 0.0;
                for (std::ptrdiff_t t = 0; t < nD; ++t) {
                    const std::ptrdiff_t n = t + before;
                    // Trapezoid over the step [t, t + 1].
                    for (std::ptrdiff_t q : {n, n + 1}) {
                        double term = fwd[k].eta * rate(k, i, q - fwd[k].delay) * slope(fwd[k], off[k + 1] + j, q);
                        if (k >= 1 && es.back[k])
                            term += back[k].eta * rate(k + 1, j, q - back[k].delay) * slope(back[k], off[k] + i, q);
                        sum += 0.5 * h * term;
                    }
                }
                e[woff[k] + i * es.sizes[k + 1] + j] = sum;
            }
    return e;
}

// "all", then one group per layer k -> k+1 (EnergyNetwork's weight layout).
std::vector<WeightGroup> energy_groups(const EnergySetup& es) {
    std::vector<WeightGroup> gs;
    std::size_t off = 0;
    for (std::size_t k = 0; k + 1 < es.sizes.size(); ++k) {
        const std::size_t n = es.sizes[k] * es.sizes[k + 1];
        gs.push_back({es.obj->layers[k] + (es.back[k] ? "<->" : "->") + es.obj->layers[k + 1], off, off + n, 1.0});
        off += n;
    }
    gs.insert(gs.begin(), WeightGroup{"all", 0, off, 1.0});
    return gs;
}

// The error-free guess N (AlignmentPoint) at the free fixed point s*: presynaptic
// rate (x, or rho(s*)) times the target onto the output layer, times rho(s*) onto a hidden layer.
std::vector<double> energy_null(const EnergySetup& es, const std::vector<double>& s_star) {
    const std::size_t L = es.sizes.size() - 1;
    std::vector<std::vector<double>> r(L + 1);
    r[0] = es.x;
    std::size_t u = 0;
    for (std::size_t k = 1; k <= L; ++k)
        for (std::size_t i = 0; i < es.sizes[k]; ++i) r[k].push_back(std::clamp(s_star[u++], 0.0, 1.0));
    std::vector<double> n;
    for (std::size_t k = 0; k < L; ++k)
        for (std::size_t i = 0; i < es.sizes[k]; ++i)
            for (std::size_t j = 0; j < es.sizes[k + 1]; ++j)
                n.push_back(r[k][i] * (k + 1 == L ? es.obj->target[j] : r[k + 1][j]));
    return n;
}

// Per group: the cosine of E[dW] per cycle (or +- pair) `pair` with dJ/dW `g`.
void set_expected_cosines(std::vector<WeightGroup>& groups, const std::vector<double>& pair, const std::vector<double>& g) {
    for (auto& gr : groups) {
        const auto b = static_cast<std::ptrdiff_t>(gr.begin), e = static_cast<std::ptrdiff_t>(gr.end);
        gr.expected_cosine = cosine_of({pair.begin() + b, pair.begin() + e}, {g.begin() + b, g.begin() + e});
    }
}

// Every projection of the objective, transposes included.
std::vector<std::size_t> learned_projections(const EnergySetup& es) {
    std::vector<std::size_t> learned;
    for (std::size_t k = 0; k < es.fwd.size(); ++k) {
        learned.push_back(es.fwd[k]);
        if (es.back[k]) learned.push_back(*es.back[k]);
    }
    return learned;
}

// V_hat ends kEnergyMeasureGapTaus membrane time constants before the nudge (at most half
// the free phase).  Measured up to the onset, V_hat's noise is correlated with the output's
// state at the onset and, through the tied feedback, with the hidden units' spikes during
// the nudge: the force's error -beta (s_hat - s*) then covaries with both directions' Eq. 1
// terms, a second-order term the mean-field E[dW] leaves out (examples/gradient_alignment/
// README.md, "Where the output layer's 1% bias came from").
double energy_measure_gap_ms(const EnergySetup& es) {
    return std::min(kEnergyMeasureGapTaus * es.neuron->tau_m_ms, 0.5 * es.obj->free_ms);
}

GradcheckResult run_energy(const NetworkSpec& spec, const GradcheckOptions& o) {
    const EnergySetup es = find_energy(spec);
    const auto& obj = *es.obj;
    const std::size_t L = es.sizes.size() - 1;
    const auto& neuron = *es.neuron;
    GradcheckResult r;
    r.cycle_ms = obj.free_ms + obj.nudge_ms;
    const std::vector<std::uint64_t> checkpoints = checkpoint_cycles(o, r.cycle_ms);
    r.final_cycles = checkpoints.back();
    const objective::EnergyNetwork net(es.sizes, es.x, obj.target, es.bias);
    r.groups = energy_groups(es);
    r.null_guess.resize(o.seeds.size());
    const std::vector<std::size_t> learned = learned_projections(es);  // rules switched per phase
    double settle = 0.0;
    for (std::size_t j : learned)
        settle = std::max(settle, 2.0 * std::get<VoltageSlopeParams>(spec.projections[j].plasticity->rule).window_ms);

    const double measure_gap_ms = energy_measure_gap_ms(es);
    const std::size_t n_seeds = o.seeds.size();
    std::vector<std::vector<AlignmentPoint>> per_seed(n_seeds);
    r.final_dw.resize(n_seeds);
    r.final_expected.resize(n_seeds);
    r.gradients.resize(n_seeds);
    r.J.resize(n_seeds);
    std::vector<std::vector<double>> plus(n_seeds), minus(n_seeds);
    std::vector<std::size_t> pinned(n_seeds);
    CycleCounter cycles(o, r.final_cycles);
    tbb::parallel_for(std::size_t{0}, n_seeds, [&](std::size_t k) {
        NetworkSpec run = spec;
        run.run.seed = o.seeds[k];
        run.run.duration_ms = static_cast<double>(r.final_cycles) * r.cycle_ms + settle + 1.0;
        run.record = RecordSpec{};
        Simulation sim(run);
        const TimeBase& tb = sim.time();
        const std::vector<double> w0 = flat_energy_weights(sim, es);
        std::vector<double> W(w0.size());
        for (std::size_t q = 0; q < w0.size(); ++q) W[q] = es.c * w0[q];
        const auto fp = net.fixed_point(W);
        if (!fp.converged) throw std::runtime_error("energy objective: the free phase's fixed point did not converge");
        pinned[k] = fp.pinned;
        std::vector<double> g = net.dJ_dW_at(W, fp.s);
        for (double& x : g) x *= es.c;  // dJ/dw = c dJ/dW
        r.gradients[k] = g;
        r.J[k] = -net.cost(fp.s);
        r.null_guess[k] = energy_null(es, fp.s);
        const std::vector<double> signs = shuffled_signs(o.seeds[k], g.size());
        plus[k] = expected_nudge(spec, es, W, fp.s, 1.0);
        if (obj.symmetric) minus[k] = expected_nudge(spec, es, W, fp.s, -1.0);

        const std::size_t out = es.pops[L];
        const std::size_t n_out = es.sizes[L];
        std::size_t next = 0;
        std::uint64_t n_plus = 0, n_minus = 0;
        double t = 0.0;
        for (std::uint64_t c = 1; c <= r.final_cycles; ++c) {
            const double sign = obj.symmetric && c % 2 == 0 ? -1.0 : 1.0;
            for (std::size_t j : learned) sim.set_plasticity_gain(j, 0.0);
            for (std::uint32_t j = 0; j < n_out; ++j) sim.set_drive(out, j, es.base_drive[j]);
            const std::vector<double> v_hat =
                free_phase_voltages(sim, out, static_cast<std::uint32_t>(n_out), t, obj.free_ms, measure_gap_ms);
            t += obj.free_ms;
            for (std::uint32_t j = 0; j < n_out; ++j) {
                const double s_hat = std::clamp(neuron.beta_per_mV * (v_hat[j] - neuron.theta_mV), 0.0, 1.0);
                sim.set_drive(out, j, es.base_drive[j] + sign * obj.beta * (obj.target[j] - s_hat) / neuron.beta_per_mV);
            }
            for (std::size_t j : learned) sim.set_plasticity_gain(j, sign);
            (sign > 0 ? n_plus : n_minus) += 1;
            t += obj.nudge_ms;
            sim.run_until(tb.round(t));
            cycles.cycle_done();
            if (c != checkpoints[next]) continue;
            // Let the last probes of this nudge land (learning off, free drive), then read.
            for (std::size_t j : learned) sim.set_plasticity_gain(j, 0.0);
            for (std::uint32_t j = 0; j < n_out; ++j) sim.set_drive(out, j, es.base_drive[j]);
            sim.run_until(tb.round(t + settle));
            std::vector<double> dw = flat_energy_weights(sim, es);
            for (std::size_t q = 0; q < dw.size(); ++q) dw[q] -= w0[q];
            std::vector<double> e(dw.size());
            for (std::size_t q = 0; q < e.size(); ++q)
                e[q] = static_cast<double>(n_plus) * plus[k][q] + (n_minus ? static_cast<double>(n_minus) * minus[k][q] : 0.0);
            align_groups(per_seed[k], r, static_cast<double>(c) * r.cycle_ms, o.seeds[k], c,
                         {&dw, &g, &e, &r.null_guess[k], &signs});
            if (c == r.final_cycles) r.final_dw[k] = dw, r.final_expected[k] = e;
            ++next;
        }
    });
    r.expected_plus = plus[0];
    r.expected_minus = minus[0];
    r.pinned = *std::max_element(pinned.begin(), pinned.end());
    // E[dW] of one cycle (or one +- pair) against dJ/dW: fit and ceiling of the cosine.
    std::vector<double> pair = plus[0];
    if (obj.symmetric)
        for (std::size_t q = 0; q < pair.size(); ++q) pair[q] += minus[0][q];
    const auto& g = r.gradients[0];
    r.gain_per_cycle = dot(pair, g) / dot(g, g) / (obj.symmetric ? 2.0 : 1.0);
    r.expected_cosine = cosine_of(pair, g);
    set_expected_cosines(r.groups, pair, g);
    collect_points(r, per_seed, checkpoints.size());
    return r;
}

}  // namespace

}  // namespace spikeem
