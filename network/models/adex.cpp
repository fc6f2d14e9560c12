#include "network/models/adex.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "network/models/per_neuron.hpp"

namespace spikeem {

namespace {

// Dormand & Prince (1980)'s RK5(4)7M tableau (FSAL: the 7th stage is f(y1)), and
// Shampine's continuous extension as in Hairer, Norsett & Wanner's DOPRI5 (dense
// coefficients d).  kE = b5 - b4: the error estimate of the 4th-order solution.
constexpr double kA21 = 1.0 / 5.0;
constexpr double kA31 = 3.0 / 40.0, kA32 = 9.0 / 40.0;
constexpr double kA41 = 44.0 / 45.0, kA42 = -56.0 / 15.0, kA43 = 32.0 / 9.0;
constexpr double kA51 = 19372.0 / 6561.0, kA52 = -25360.0 / 2187.0, kA53 = 64448.0 / 6561.0, kA54 = -212.0 / 729.0;
constexpr double kA61 = 9017.0 / 3168.0, kA62 = -355.0 / 33.0, kA63 = 46732.0 / 5247.0, kA64 = 49.0 / 176.0,
                 kA65 = -5103.0 / 18656.0;
constexpr double kB1 = 35.0 / 384.0, kB3 = 500.0 / 1113.0, kB4 = 125.0 / 192.0, kB5 = -2187.0 / 6784.0,
                 kB6 = 11.0 / 84.0;
constexpr double kE1 = 71.0 / 57600.0, kE3 = -71.0 / 16695.0, kE4 = 71.0 / 1920.0, kE5 = -17253.0 / 339200.0,
                 kE6 = 22.0 / 525.0, kE7 = -1.0 / 40.0;
constexpr double kD1 = -12715105075.0 / 11282082432.0, kD3 = 87487479700.0 / 32700410799.0,
                 kD4 = -10690763975.0 / 1880347072.0, kD5 = 701980252875.0 / 199316789632.0,
                 kD6 = -1453857185.0 / 822651844.0, kD7 = 69997945.0 / 29380423.0;

// The parameters a neuron may have of its own, by their names in the spec
// (ModelTraits<AdExParams>::per_neuron lists the same).
constexpr std::pair<std::string_view, double AdExParams::*> kFields[] = {
    {"c_pF", &AdExParams::c_pF},           {"g_leak_nS", &AdExParams::g_leak_nS},
    {"e_leak_mV", &AdExParams::e_leak_mV}, {"v_t_mV", &AdExParams::v_t_mV},
    {"delta_t_mV", &AdExParams::delta_t_mV}, {"a_nS", &AdExParams::a_nS},
    {"tau_w_ms", &AdExParams::tau_w_ms},   {"b_pA", &AdExParams::b_pA},
    {"v_reset_mV", &AdExParams::v_reset_mV}, {"v_peak_mV", &AdExParams::v_peak_mV},
    {"t_ref_ms", &AdExParams::t_ref_ms},   {"i_e_pA", &AdExParams::i_e_pA},
    {"w_init_pA", &AdExParams::w_init_pA}};

}  // namespace

AdExPopulation::Consts AdExPopulation::consts(const AdExParams& p, const TimeBase& time) {
    Consts c;
    c.c_pF = p.c_pF;
    c.g_leak_nS = p.g_leak_nS;
    c.e_leak_mV = p.e_leak_mV;
    c.v_t_mV = p.v_t_mV;
    c.delta_t_mV = p.delta_t_mV;
    c.a_nS = p.a_nS;
    c.tau_w_ms = p.tau_w_ms;
    c.b_pA = p.b_pA;
    c.v_reset_mV = p.v_reset_mV;
    c.v_peak_mV = p.v_peak_mV;
    c.i_e_pA = p.i_e_pA;
    c.g_over_c = p.g_leak_nS / p.c_pF;
    c.inv_c = 1.0 / p.c_pF;
    c.inv_tau_w = 1.0 / p.tau_w_ms;
    c.inv_delta_t = 1.0 / p.delta_t_mV;
    c.v_switch_mV = p.v_t_mV + kSwitch * p.delta_t_mV;
    c.z_peak = std::exp(-(p.v_peak_mV - p.v_t_mV) / p.delta_t_mV);
    c.tol_w_pA = kTolerance * p.g_leak_nS;
    c.h_max_ms = 4.0 * std::max(p.c_pF / p.g_leak_nS, p.tau_w_ms);
    c.t_ref_ticks = time.round(p.t_ref_ms);
    return c;
}

AdExPopulation::AdExPopulation(const PopulationSpec& spec, std::uint32_t index, std::uint32_t global_offset,
                               const TimeBase& time, std::uint64_t seed)
    : Population(spec.name, spec.size, index, global_offset),
      p_(std::get<AdExParams>(spec.model)),
      time_(time),
      shared_(consts(p_, time)),
      h_min_ms_(time.to_ms(1)),
      n_(spec.size),
      last_spike_(spec.size, -1) {
    // Each neuron's parameters when some are spread or currents may move i_e.
    // The loader checked the model's rules at every corner of the spread ranges;
    // every rule is monotone in each parameter (differences like v_reset < v_peak
    // are linear; (v_peak - v_t)/delta_t <= 500 grows with v_peak, falls with v_t
    // and, its numerator being > 0 at every corner and so everywhere in the box,
    // falls with delta_t), so every draw inside the ranges keeps them.
    std::vector<AdExParams> own;  // each neuron's parameters, when they differ
    if (!spec.per_neuron.empty() || spec.takes_current) {
        own.assign(spec.size, p_);
        for (const ParameterSpread& s : spec.per_neuron) {
            const auto* f = std::find_if(std::begin(kFields), std::end(kFields),
                                         [&](const auto& nf) { return s.parameter == nf.first; });
            if (f == std::end(kFields))  // the loader lets only ModelTraits<AdExParams>::per_neuron through
                throw std::invalid_argument("adex population \"" + spec.name + "\": per_neuron parameter \"" +
                                            s.parameter + "\" is not one the model draws per neuron");
            const std::vector<double> values = per_neuron_values(spec, s.parameter, p_.*(f->second), seed);
            for (std::uint32_t i = 0; i < spec.size; ++i) own[i].*(f->second) = values[i];
        }
        per_.reserve(spec.size);
        for (const AdExParams& q : own) per_.push_back(consts(q, time));
    }
    const std::uint64_t pop_key = stable_hash(spec.name);
    for (std::uint32_t i = 0; i < spec.size; ++i) {
        RandomStream rng(seed, rng_domain::kInitialState, pop_key, i);
        const Consts& p = consts_of(i);
        State& x = n_[i];
        x.pending = kNever;
        x.clamp = 0;
        x.mode = kLazy;
        x.steps = 0;
        x.h_next_ms = 0.01 * std::min(p.c_pF / p.g_leak_nS, p.tau_w_ms);
        // The initial state until start() takes the first step from it.
        x.t0 = 0;
        x.h = 0;
        x.zform = false;
        x.r = {};
        x.r[0] = Y{draw(p_.v_init_mV, rng), own.empty() ? p_.w_init_pA : own[i].w_init_pA};
    }
}

// The right-hand side.  V enters the currents clamped at v_peak, so that stages
// that overshoot the crossing stay finite (the solution is used up to the crossing).
// In the z-form the exponential current is exactly -g_L/C: z = exp(-(V - v_t)/Delta_T)
// turns the divergence into a straight line through z = 0.
AdExPopulation::Y AdExPopulation::rhs(const Consts& p, const Y& y, bool zform) {
    const double w = y[1];
    if (!zform) {
        const double v = std::min(y[0], p.v_peak_mV);
        const double dv = (-p.g_leak_nS * (v - p.e_leak_mV) +
                           p.g_leak_nS * p.delta_t_mV * std::exp((v - p.v_t_mV) * p.inv_delta_t) - w + p.i_e_pA) *
                          p.inv_c;
        return Y{dv, (p.a_nS * (v - p.e_leak_mV) - w) * p.inv_tau_w};
    }
    const double z = y[0];
    const double v = p.v_t_mV - p.delta_t_mV * std::log(std::max(z, p.z_peak));
    const double f = (-p.g_leak_nS * (v - p.e_leak_mV) - w + p.i_e_pA) * p.inv_c;
    return Y{-p.g_over_c - z * f * p.inv_delta_t, (p.a_nS * (v - p.e_leak_mV) - w) * p.inv_tau_w};
}

double AdExPopulation::dp_step(const Consts& p, const Y& y0, double h, bool zform, std::array<Y, 5>& r) {
    auto at = [&](double c1, const Y& k1, double c2 = 0, const Y& k2 = {}, double c3 = 0, const Y& k3 = {},
                  double c4 = 0, const Y& k4 = {}, double c5 = 0, const Y& k5 = {}, double c6 = 0, const Y& k6 = {}) {
        Y y;
        for (int j = 0; j < 2; ++j)
            y[j] = y0[j] + h * (c1 * k1[j] + c2 * k2[j] + c3 * k3[j] + c4 * k4[j] + c5 * k5[j] + c6 * k6[j]);
        return y;
    };
    const Y k1 = rhs(p, y0, zform);
    const Y k2 = rhs(p, at(kA21, k1), zform);
    const Y k3 = rhs(p, at(kA31, k1, kA32, k2), zform);
    const Y k4 = rhs(p, at(kA41, k1, kA42, k2, kA43, k3), zform);
    const Y k5 = rhs(p, at(kA51, k1, kA52, k2, kA53, k3, kA54, k4), zform);
    const Y k6 = rhs(p, at(kA61, k1, kA62, k2, kA63, k3, kA64, k4, kA65, k5), zform);
    const Y y1 = at(kB1, k1, 0.0, k2, kB3, k3, kB4, k4, kB5, k5, kB6, k6);
    const Y k7 = rhs(p, y1, zform);
    Y err;
    for (int j = 0; j < 2; ++j) {
        err[j] = h * (kE1 * k1[j] + kE3 * k3[j] + kE4 * k4[j] + kE5 * k5[j] + kE6 * k6[j] + kE7 * k7[j]);
        r[0][j] = y0[j];
        r[1][j] = y1[j] - y0[j];
        r[2][j] = h * k1[j] - r[1][j];
        r[3][j] = r[1][j] - h * k7[j] - r[2][j];
        r[4][j] = h * (kD1 * k1[j] + kD3 * k3[j] + kD4 * k4[j] + kD5 * k5[j] + kD6 * k6[j] + kD7 * k7[j]);
    }
    // In the z-form an error dz moves V by Delta_T dz / z; it is weighed at the switch
    // point z = e^-kSwitch (z is smaller in every z-form step), i.e. as an error in
    // the time of the crossing of dz / (g_L/C) at most.
    const double ev = zform ? std::abs(err[0]) * p.delta_t_mV * std::exp(kSwitch) : std::abs(err[0]);
    const double norm = std::max(ev / kTolerance, std::abs(err[1]) / p.tol_w_pA);
    const bool finite = std::isfinite(y1[0]) && std::isfinite(y1[1]) && std::isfinite(norm);
    return finite ? norm : std::numeric_limits<double>::infinity();
}

void AdExPopulation::begin_step(const Consts& p, State& x, Tick t, double v, double w) const {
    x.t0 = t;
    x.zform = p.v_peak_mV > p.v_switch_mV && v >= p.v_switch_mV;
    const Y y0{x.zform ? std::exp(-(v - p.v_t_mV) * p.inv_delta_t) : v, w};
    const double per_ms = static_cast<double>(time_.ticks_per_ms());
    double h = std::clamp(x.h_next_ms, h_min_ms_, p.h_max_ms);
    // The usual controller (safety 0.9, factors in [0.2, 5]), on steps of whole ticks;
    // a step of one tick is taken whatever its error (never at the default 1 ns in
    // practice: the steps are some 0.01-1 ms).
    for (int tries = 0;; ++tries) {
        const double ticks = std::max(1.0, std::floor(h * per_ms));
        const double hh = ticks / per_ms;
        const double err = dp_step(p, y0, hh, x.zform, x.r);
        ++x.steps;
        const double factor = err > 0.0 ? 0.9 * std::pow(err, -0.2) : 5.0;
        if (err <= 1.0 || ticks <= 1.0 || tries >= 100) {
            x.h = static_cast<Tick>(ticks);
            x.h_next_ms = hh * std::clamp(factor, 0.2, 5.0);
            return;
        }
        h = hh * std::clamp(factor, 0.2, 0.9);
    }
}

AdExPopulation::Y AdExPopulation::y_at(const State& x, Tick t) const {
    assert(t >= x.t0 && t - x.t0 <= x.h);
    const double th = static_cast<double>(t - x.t0) / static_cast<double>(x.h), th1 = 1.0 - th;
    Y y;
    for (int j = 0; j < 2; ++j)
        y[j] = x.r[0][j] + th * (x.r[1][j] + th1 * (x.r[2][j] + th * (x.r[3][j] + th1 * x.r[4][j])));
    return y;
}

double AdExPopulation::v_of(const Consts& p, const Y& y, bool zform) {
    if (!zform) return std::min(y[0], p.v_peak_mV);
    return y[0] <= p.z_peak ? p.v_peak_mV : p.v_t_mV - p.delta_t_mV * std::log(y[0]);
}

void AdExPopulation::state_beyond(const Consts& p, const State& x0, Tick t, double& v, double& w) const {
    if (t - x0.t0 <= x0.h) {
        const Y y = y_at(x0, t);
        v = v_of(p, y, x0.zform);
        w = y[1];
        return;
    }
    State x = x0;  // a read-only walk: the neuron's own steps are not touched
    while (t - x.t0 > x.h) {
        const Tick end = x.t0 + x.h;
        const Y y = y_at(x, end);
        begin_step(p, x, end, v_of(p, y, x.zform), y[1]);
    }
    const Y y = y_at(x, t);
    v = v_of(p, y, x.zform);
    w = y[1];
}

double AdExPopulation::first_crossing(const Consts& p, const State& x) {
    // g(theta) >= 0: at or past v_peak (in the z-form z falls through z_peak).
    auto g = [&](double th) {
        const double th1 = 1.0 - th;
        const double y = x.r[0][0] + th * (x.r[1][0] + th1 * (x.r[2][0] + th * (x.r[3][0] + th1 * x.r[4][0])));
        return x.zform ? p.z_peak - y : y - p.v_peak_mV;
    };
    const double ticks = static_cast<double>(x.h);
    double lo = 0.0;
    for (int k = 1; k <= kSamples; ++k) {
        const double hi0 = static_cast<double>(k) / kSamples;
        if (g(hi0) < 0.0) {
            lo = hi0;
            continue;
        }
        // g(lo) < 0 <= g(hi): bisect until the bracket lies within one tick (then
        // ceil(theta * ticks) is known) or is down to adjacent doubles.
        double hi = hi0;
        while (std::ceil(lo * ticks) != std::ceil(hi * ticks)) {
            const double mid = 0.5 * (lo + hi);
            if (mid <= lo || mid >= hi) break;
            (g(mid) >= 0.0 ? hi : lo) = mid;
        }
        return hi;
    }
    return -1.0;
}

void AdExPopulation::schedule(EngineHooks& engine, std::uint32_t i, Tick t) {
    n_[i].pending = t;
    engine.schedule_own(global_offset() + i, t);
}

void AdExPopulation::restart(EngineHooks& engine, std::uint32_t i, Tick t, double v, double w) {
    State& x = n_[i];
    const Consts& p = consts_of(i);
    if (v >= p.v_peak_mV) {  // at or past v_peak now (an input, or one at the tick of a crossing)
        spike(engine, i, t, w);
        return;
    }
    begin_step(p, x, t, v, w);
    const double th = first_crossing(p, x);
    if (th > 0.0) {
        // The first tick at or after the crossing.
        const double ticks = std::ceil(th * static_cast<double>(x.h));
        x.mode = kExact;
        schedule(engine, i, t + std::clamp<Tick>(static_cast<Tick>(ticks), 1, x.h));
    } else {
        x.mode = kLazy;
        schedule(engine, i, t + x.h);
    }
}

// Spike at t with the adaptation current w at t (before the jump b).
void AdExPopulation::spike(EngineHooks& engine, std::uint32_t i, Tick t, double w) {
    State& x = n_[i];
    const Consts& p = consts_of(i);
    engine.emit_spike(index(), i, t);
    last_spike_[i] = t;
    w += p.b_pA;
    x.clamp = t + p.t_ref_ticks;
    if (p.t_ref_ticks > 0) {
        x.t0 = t;
        x.r[0][1] = w;
        x.mode = kRefractory;
        schedule(engine, i, x.clamp);
    } else {
        restart(engine, i, t, p.v_reset_mV, w);
    }
}

void AdExPopulation::start(EngineHooks& engine) {
    for (std::uint32_t i = 0; i < size(); ++i) {
        const Y y0 = n_[i].r[0];
        restart(engine, i, 0, y0[0], y0[1]);
    }
}

double AdExPopulation::w_pA(std::uint32_t i, Tick t) const {
    const State& x = n_[i];
    const Consts& p = consts_of(i);
    if (x.mode == kRefractory) {  // V = v_reset: w relaxes to a (v_reset - e_leak) in closed form
        const double w_inf = p.a_nS * (p.v_reset_mV - p.e_leak_mV);
        return w_inf + (x.r[0][1] - w_inf) * std::exp(-time_.to_ms(t - x.t0) * p.inv_tau_w);
    }
    double v, w;
    state_beyond(p, x, t, v, w);
    return w;
}

void AdExPopulation::on_event(EngineHooks& engine, const Event& e, std::uint32_t i) {
    assert(e.kind == EventKind::Crossing);
    State& x = n_[i];
    const Consts& p = consts_of(i);
    assert(x.pending == e.t);  // own events are moved in place, never left stale
    x.pending = kNever;
    switch (x.mode) {
        case kRefractory: restart(engine, i, e.t, p.v_reset_mV, w_pA(i, e.t)); break;
        case kExact: spike(engine, i, e.t, y_at(x, e.t)[1]); break;  // nothing has changed since the prediction
        case kLazy: {
            const Y y = y_at(x, e.t);
            restart(engine, i, e.t, v_of(p, y, x.zform), y[1]);
            break;
        }
    }
}

void AdExPopulation::deliver(EngineHooks& engine, Tick t, const std::uint32_t* targets, const double* weights,
                             std::size_t n) {
    for (std::size_t k = 0; k < n; ++k) {
        const std::uint32_t i = targets[k];
        const double jump = weights[k];
        State& x = n_[i];
        const Consts& p = consts_of(i);
        // A crossing predicted for this very tick happened before the input (in (t - 1, t]).
        if (x.mode == kExact && x.pending == t) spike(engine, i, t, y_at(x, t)[1]);
        if (jump == 0.0 || t < x.clamp) continue;  // V is held while refractory: the input is lost
        double v, w;
        if (x.mode == kRefractory) {  // at the end of refractoriness (its own event comes after inputs)
            v = p.v_reset_mV;
            w = w_pA(i, t);
        } else {
            state_beyond(p, x, t, v, w);
        }
        restart(engine, i, t, v + jump, w);
    }
}

double AdExPopulation::voltage_mV(std::uint32_t i, Tick t) const {
    const State& x = n_[i];
    const Consts& p = consts_of(i);
    if (x.mode == kRefractory) return p.v_reset_mV;  // held at reset until the own event ends it
    double v, w;
    state_beyond(p, x, t, v, w);
    return v;
}

double AdExPopulation::drift_mV_per_ms(std::uint32_t i, Tick t) const {
    const State& x = n_[i];
    const Consts& p = consts_of(i);
    if (x.mode == kRefractory) return 0.0;
    double v, w;
    state_beyond(p, x, t, v, w);
    return rhs(p, Y{v, w}, false)[0];
}

void AdExPopulation::add_current(EngineHooks& engine, std::uint32_t i, Tick t, double delta_mV) {
    assert(!per_.empty());  // built with takes_current: each neuron has its own i_e
    State& x = n_[i];
    Consts& p = per_[i];
    // As for an input: a crossing predicted for this very tick happened before the change.
    if (x.mode == kExact && x.pending == t) spike(engine, i, t, y_at(x, t)[1]);
    // (V, w) at t under the old current, before i_e moves (R I = delta with R = 1/g_leak).
    double v = p.v_reset_mV, w;
    const bool held = x.mode == kRefractory;
    if (held)
        w = w_pA(i, t);
    else
        state_beyond(p, x, t, v, w);
    p.i_e_pA += delta_mV * p.g_leak_nS;
    // While refractory V is held and w relaxes independently of the current: the
    // pending end of refractoriness restarts from v_reset with the new i_e.
    if (held) return;
    restart(engine, i, t, v, w);
}

double AdExPopulation::psp_mV(std::uint32_t i, double w, Tick t_in, Tick t_now) const {
    const Tick s = last_spike_[i];
    const Consts& p = consts_of(i);
    // A spike at or after the input resets V (its part is gone); an input that came
    // while V was held at reset was lost.
    if (s >= 0 && (s >= t_in || t_in < s + p.t_ref_ticks)) return 0.0;
    return w * std::exp(-time_.to_ms(t_now - t_in) * p.g_over_c);
}

void AdExPopulation::save_state(StateWriter& w) const {
    w.section("adex " + name());
    w.values(per_);  // currents move a neuron's i_e
    w.values(n_);
    w.values(last_spike_);
}

void AdExPopulation::load_state(StateReader& r) {
    r.section("adex " + name());
    r.same_size(per_, "per-neuron constants");
    r.same_size(n_, "neuron state");
    r.same_size(last_spike_, "last spikes");
}

}  // namespace spikeem
