#include "network/models/lif_cond_exp.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <limits>

#include "network/models/per_neuron.hpp"

namespace spikeem {

namespace {
// 1 / (n + 1) for the series' recurrences.
constexpr std::array<double, LifCondExpPopulation::kOrder> kInverse = [] {
    std::array<double, LifCondExpPopulation::kOrder> r{};
    for (int n = 0; n < LifCondExpPopulation::kOrder; ++n) r[n] = 1.0 / (n + 1);
    return r;
}();

// A lower bound of log2(x) for x > 0: x = 2^e (1 + f), f in [0, 1), and
// log2(1 + f) >= f.  Saturates at +-1022 (x subnormal, infinite or NaN: never
// for tol / |c| with the voltages finite, but harmless).
double log2_below(double x) {
    if (!(x >= std::numeric_limits<double>::min())) return -1022.0;
    if (!(x <= std::numeric_limits<double>::max())) return 1022.0;
    const auto u = std::bit_cast<std::uint64_t>(x);
    const double e = static_cast<double>(static_cast<int>((u >> 52) & 0x7ff) - 1023);
    const double f = std::bit_cast<double>((u & 0xfffffffffffffull) | 0x3ff0000000000000ull) - 1.0;
    return e + f;
}

// A lower bound of 2^z for |z| <= 1000: 2^floor(z) times the cubic Taylor polynomial
// of e^(f ln 2), f = z - floor(z) (its terms are all positive), at most 0.6 % low.
double exp2_below(double z) {
    const double fl = std::floor(std::clamp(z, -1000.0, 1000.0));
    const double u = (z - fl) * 0.6931471805599453;
    const double pow2 = std::bit_cast<double>(static_cast<std::uint64_t>(static_cast<int>(fl) + 1023) << 52);
    return pow2 * (1.0 + u * (1.0 + u * (0.5 + u * (1.0 / 6.0))));
}

}  // namespace

//
// The Taylor step.  With theta = (t - t0)/h, V(t) = sum_n c_n theta^n,
// g_e(t) = ge sum_n e_n theta^n with e_n = (-h/tau_e)^n / n! (exact: an
// exponential's series), g_i likewise with g_n, the ODE
//   tau_m dV/dt = v_rest + e_e g_e + e_i g_i - (1 + g_e + g_i) V
// gives, coefficient by coefficient (q_n = e_n + g_n, the total synaptic conductance),
//   c_{n+1} = -(h/tau_m)/(n+1) (c_n + sum_{k<=n} q_{n-k} c_k - v_rest [n = 0] - e_e e_n - e_i g_n):
// one convolution, (N + 1)(N + 2)/2 multiply-adds for degree N.  The coefficients
// are computed for a nominal step h_n = 1/rho (rho: the fastest rate, of the
// conductances or of the total membrane conductance) and rescaled, c_n lambda^n,
// to the step h = lambda h_n whose last two terms are within the tolerance
// (Jorba & Zou 2005's step control for Taylor methods).
//

LifCondExpPopulation::LifCondExpPopulation(const PopulationSpec& spec, std::uint32_t index,
                                           std::uint32_t global_offset, const TimeBase& time, std::uint64_t seed)
    : Population(spec.name, spec.size, index, global_offset),
      p_(std::get<LifCondExpParams>(spec.model)),
      lv_(spec, {p_.v_rest_mV, p_.v_th_mV, p_.v_reset_mV, p_.t_ref_ms}, spec.takes_current, time, seed),
      time_(time),
      n_(spec.size) {
    // One Kinetics for all, or one per neuron when a parameter of it is spread.
    auto kinetics = [&](double tau_m, double g_leak, double tau_e, double tau_i, double e_e, double e_i) {
        return Kinetics{1.0 / tau_m, 1.0 / tau_e, 1.0 / tau_i, 1.0 / g_leak, g_leak, e_e, e_i,
                        kTolerance * std::max({1.0, std::abs(p_.v_rest_mV), std::abs(p_.v_th_mV),
                                               std::abs(p_.v_reset_mV), std::abs(e_e), std::abs(e_i)}),
                        4.0 * std::max({tau_m, tau_e, tau_i})};
    };
    bool spread = false;
    for (const char* name : kKineticParameters) spread = spread || find_spread(spec, name) != nullptr;
    if (!spread) {
        k_.push_back(kinetics(p_.tau_m_ms, p_.g_leak_nS, p_.tau_e_ms, p_.tau_i_ms, p_.e_e_mV, p_.e_i_mV));
    } else {
        const auto tau_m = per_neuron_values(spec, "tau_m_ms", p_.tau_m_ms, seed);
        const auto g_leak = per_neuron_values(spec, "g_leak_nS", p_.g_leak_nS, seed);
        const auto tau_e = per_neuron_values(spec, "tau_e_ms", p_.tau_e_ms, seed);
        const auto tau_i = per_neuron_values(spec, "tau_i_ms", p_.tau_i_ms, seed);
        const auto e_e = per_neuron_values(spec, "e_e_mV", p_.e_e_mV, seed);
        const auto e_i = per_neuron_values(spec, "e_i_mV", p_.e_i_mV, seed);
        for (std::uint32_t i = 0; i < spec.size; ++i)
            k_.push_back(kinetics(tau_m[i], g_leak[i], tau_e[i], tau_i[i], e_e[i], e_i[i]));
    }
    const std::uint64_t pop_key = stable_hash(spec.name);
    for (std::uint32_t i = 0; i < spec.size; ++i) {
        RandomStream rng(seed, rng_domain::kInitialState, pop_key, i);
        State& x = n_[i];
        x.pending = kNever;
        x.clamp = 0;
        x.mode = kLazy;
        const double v0 = spec.v_init_at_rest ? lv_.rest_start(i) : draw(p_.v_init_mV, rng);
        begin_step(kin(i), x, 0, v0, 0.0, 0.0, lv_.rest(i));
    }
}

void LifCondExpPopulation::begin_step(const Kinetics& k, State& x, Tick t, double v, double ge, double gi,
                                      double v_rest) const {
    x.t0 = t;
    x.ge = ge;
    x.gi = gi;
    const double rho = std::max({k.inv_tau_e, k.inv_tau_i, (1.0 + ge + gi) * k.inv_tau_m});
    const double hn = 1.0 / rho;  // ms
    const double rm = hn * k.inv_tau_m, re = -hn * k.inv_tau_e, ri = -hn * k.inv_tau_i;
    // q_n = e_n + g_n; acc[m] gathers sum_{k < m} q_{m-k} c_k - source_m as the c_k
    // become known, so that each new coefficient waits for one multiply-add only
    // (the rest is independent work the processor overlaps).
    std::array<double, kOrder> q, acc, a;
    double en = ge, gn = gi;  // e_n, g_n (times ge, gi)
    for (int n = 0; n < kOrder; ++n) {
        q[n] = en + gn;
        acc[n] = -(k.e_e_mV * en + k.e_i_mV * gn);
        a[n] = -rm * kInverse[n];
        en *= re * kInverse[n];
        gn *= ri * kInverse[n];
    }
    acc[0] -= v_rest;
    Poly& c = x.c;
    c[0] = v;
    const double one_q0 = 1.0 + q[0];
#pragma GCC unroll 16
    for (int n = 0; n < kOrder; ++n) {
        // c_{n+1} = a_n ((1 + q_0) c_n + sum_{k < n} q_{n-k} c_k - source_n)
        c[n + 1] = a[n] * (one_q0 * c[n] + acc[n]);
#pragma GCC unroll 16
        for (int m = n + 1; m < kOrder; ++m) acc[m] += q[m - n] * c[n];
    }
    // The longest step whose last two terms stay within the tolerance,
    // lambda = min((tol/|c_{N-1}|)^(1/(N-1)), (tol/|c_N|)^(1/N)), by bounds from below
    // (a step a fraction of a percent short at most), without log and exp.
    auto reach = [&](double a, int n) { return a > 0.0 ? log2_below(k.tol_mV / a) / n : 1024.0; };
    const double lambda =
        exp2_below(std::min(reach(std::abs(c[kOrder - 1]), kOrder - 1), reach(std::abs(c[kOrder]), kOrder)));
    const double h_ms = std::min(lambda * hn, k.h_max_ms);
    const double ticks = std::floor(h_ms * static_cast<double>(time_.ticks_per_ms()));
    // At least one tick: the tolerance holds while a tick is shorter than the step it allows.
    x.h = ticks >= 1.0 ? static_cast<Tick>(ticks) : 1;
    const double l = time_.to_ms(x.h) / hn;
    double f = 1.0;
    for (int n = 1; n <= kOrder; ++n) {
        f *= l;
        c[n] *= f;
    }
}

double LifCondExpPopulation::v_at(const State& x, Tick t) const {
    assert(t >= x.t0 && t - x.t0 <= x.h);
    const double th = static_cast<double>(t - x.t0) / static_cast<double>(x.h);
    double v = x.c[kOrder];
    for (int n = kOrder - 1; n >= 0; --n) v = v * th + x.c[n];
    return v;
}

void LifCondExpPopulation::g_at(const Kinetics& k, const State& x, Tick t, double& ge, double& gi) const {
    const double dt = time_.to_ms(t - x.t0);
    ge = x.ge * std::exp(-dt * k.inv_tau_e);
    gi = x.gi * std::exp(-dt * k.inv_tau_i);
}

double LifCondExpPopulation::v_beyond(std::uint32_t i, Tick t) const {
    const State& x0 = n_[i];
    if (t - x0.t0 <= x0.h) return v_at(x0, t);
    State x = x0;  // a read-only walk: the neuron's own steps are not touched
    while (t - x.t0 > x.h) {
        const Tick end = x.t0 + x.h;
        double ge, gi;
        g_at(kin(i), x, end, ge, gi);
        begin_step(kin(i), x, end, v_at(x, end), ge, gi, lv_.rest(i));
    }
    return v_at(x, t);
}

namespace {

// p(theta) - offset and p'(theta) of a polynomial by Horner.
template <std::size_t M>
void eval(const std::array<double, M>& c, double offset, double th, double& p, double& dp) {
    p = c[M - 1];
    dp = 0.0;
    for (std::size_t n = M - 1; n-- > 0;) {
        dp = dp * th + p;
        p = p * th + c[n];
    }
    p -= offset;
}

// A bound of |p''| on [0, b]: sum_n n (n - 1) |c_n| b^(n-2).
template <std::size_t M>
double curvature(const std::array<double, M>& c, double b) {
    double k = 0.0;
    for (std::size_t n = M - 1; n >= 2; --n) k = k * b + static_cast<double>(n * (n - 1)) * std::abs(c[n]);
    return k;
}

}  // namespace

double LifCondExpPopulation::refine(const Poly& c, double v_th, double lo, double hi, double ticks) const {
    // p(lo) < 0 <= p(hi), p increasing on [lo, hi]: safeguarded Newton (bisection when a
    // step leaves the bracket, and every third iteration so the bracket always shrinks),
    // until the bracket lies within one tick (then ceil(root * ticks) is known: the
    // root is in (lo, hi]) or is down to adjacent doubles.
    double x = hi;
    for (int it = 0; it < 200 && std::ceil(lo * ticks) != std::ceil(hi * ticks); ++it) {
        double p, dp;
        eval(c, v_th, x, p, dp);
        (p >= 0.0 ? hi : lo) = x;
        const double newton = dp > 0.0 ? x - p / dp : -1.0;
        x = (it % 3 == 2 || !(newton > lo && newton < hi)) ? 0.5 * (lo + hi) : newton;
        if (x <= lo || x >= hi) break;  // the bracket is down to adjacent doubles
    }
    return hi;
}

double LifCondExpPopulation::first_crossing(const Poly& c, double v_th, double ticks) const {
    const double p0 = c[0] - v_th;
    assert(p0 < 0.0);
    // Cheap exclusion: p(theta) <= p(0) + sum of the positive coefficients on [0, 1].
    double up = p0;
    for (int n = 1; n <= kOrder; ++n) up += std::max(c[n], 0.0);
    if (up < 0.0) return -1.0;
    // Bisection from the left with the chord bound (max of the ends + K w^2 / 8, K a
    // bound of |p''|): an interval is dropped only when p < 0 on all of it, so the
    // first root is found even when a crossing comes and goes within one interval.
    struct Span {
        double a, pa, b, pb;
    };
    std::array<Span, 64> stack;  // depth-first, left half on top; at most one pending right half per level
    int top = 0;
    double p1, d1;
    eval(c, v_th, 1.0, p1, d1);
    stack[top++] = Span{0.0, p0, 1.0, p1};
    while (top > 0) {
        const Span s = stack[--top];
        const double w = s.b - s.a, k = curvature(c, s.b);
        if (s.pb >= 0.0) {
            double pa, da;
            eval(c, v_th, s.a, pa, da);
            if (da > k * w) return refine(c, v_th, s.a, s.b, ticks);  // increasing on [a, b]: its only root
        } else if (std::max(s.pa, s.pb) + 0.125 * k * w * w < 0.0) {
            continue;  // no root in [a, b]
        }
        if (w < 1e-15 || top + 2 > static_cast<int>(stack.size())) {
            if (s.pb >= 0.0) return s.b;  // a root within 1e-15 of b
            continue;                      // a touch of threshold below the rounding of p
        }
        const double m = 0.5 * (s.a + s.b);
        double pm, dm;
        eval(c, v_th, m, pm, dm);
        if (pm < 0.0) stack[top++] = Span{m, pm, s.b, s.pb};  // looked at only if the left half has no root
        stack[top++] = Span{s.a, s.pa, m, pm};
    }
    return -1.0;
}

void LifCondExpPopulation::schedule(EngineHooks& engine, std::uint32_t i, Tick t) {
    n_[i].pending = t;
    engine.schedule_own(global_offset() + i, t);
}

void LifCondExpPopulation::restart(EngineHooks& engine, std::uint32_t i, Tick t, double v, double ge, double gi) {
    State& x = n_[i];
    if (v >= lv_.th(i)) {  // at or past threshold now (an input at the tick of a crossing)
        spike(engine, i, t, ge, gi);
        return;
    }
    begin_step(kin(i), x, t, v, ge, gi, lv_.rest(i));
    const double th = first_crossing(x.c, lv_.th(i), static_cast<double>(x.h));
    if (th > 0.0) {
        // The first tick at or after the crossing, so that V is past threshold at the spike.
        const double ticks = std::ceil(th * static_cast<double>(x.h));
        x.mode = kExact;
        schedule(engine, i, t + std::clamp<Tick>(static_cast<Tick>(ticks), 1, x.h));
    } else {
        x.mode = kLazy;
        schedule(engine, i, t + x.h);
    }
}

void LifCondExpPopulation::spike(EngineHooks& engine, std::uint32_t i, Tick t, double ge, double gi) {
    State& x = n_[i];
    x.t0 = t;
    x.ge = ge;
    x.gi = gi;
    x.clamp = t + lv_.t_ref(i);
    engine.emit_spike(index(), i, t);
    if (x.clamp > t) {
        x.mode = kRefractory;
        schedule(engine, i, x.clamp);
    } else {
        restart(engine, i, t, lv_.reset(i), ge, gi);
    }
}

void LifCondExpPopulation::start(EngineHooks& engine) {
    for (std::uint32_t i = 0; i < size(); ++i) restart(engine, i, 0, n_[i].c[0], 0.0, 0.0);
}

void LifCondExpPopulation::on_event(EngineHooks& engine, const Event& e, std::uint32_t i) {
    assert(e.kind == EventKind::Crossing);
    State& x = n_[i];
    assert(x.pending == e.t);  // own events are moved in place, never left stale
    x.pending = kNever;
    double ge, gi;
    g_at(kin(i), x, e.t, ge, gi);
    switch (x.mode) {
        case kRefractory: restart(engine, i, e.t, lv_.reset(i), ge, gi); break;
        case kExact: spike(engine, i, e.t, ge, gi); break;  // nothing has changed since the prediction
        case kLazy: restart(engine, i, e.t, v_beyond(i, e.t), ge, gi); break;
    }
}

void LifCondExpPopulation::deliver(EngineHooks& engine, Tick t, const std::uint32_t* targets, const double* weights,
                                   std::size_t n) {
    for (std::size_t k = 0; k < n; ++k) {
        const std::uint32_t i = targets[k];
        const double w = weights[k];
        if (w == 0.0) continue;
        State& x = n_[i];
        double ge, gi;
        g_at(kin(i), x, t, ge, gi);
        // A crossing predicted for this very tick happened before the input (in (t - 1, t]).
        if (x.mode == kExact && x.pending == t) spike(engine, i, t, ge, gi);
        double& g = w > 0.0 ? ge : gi;
        g += std::abs(w) * kin(i).inv_g_leak;
        if (x.mode == kRefractory) {  // V is held; the conductances integrate on
            x.t0 = t;
            x.ge = ge;
            x.gi = gi;
            continue;
        }
        restart(engine, i, t, v_beyond(i, t), ge, gi);
    }
}

void LifCondExpPopulation::add_current(EngineHooks& engine, std::uint32_t i, Tick t, double delta_mV) {
    assert(lv_.varied());
    State& x = n_[i];
    if (x.mode == kRefractory) {  // V is held; the step from the clamp's end uses the new rest level
        lv_.add_current(i, delta_mV);
        return;
    }
    // A crossing predicted for this very tick happened before the change (in (t - 1, t]).
    double ge, gi;
    g_at(kin(i), x, t, ge, gi);
    if (x.mode == kExact && x.pending == t) {
        lv_.add_current(i, delta_mV);  // the step after the reset sees the new level
        spike(engine, i, t, ge, gi);
        return;
    }
    const double v = v_beyond(i, t);  // with the old rest level, up to t
    lv_.add_current(i, delta_mV);
    restart(engine, i, t, v, ge, gi);
}

double LifCondExpPopulation::voltage_mV(std::uint32_t i, Tick t) const {
    const State& x = n_[i];
    if (x.mode == kRefractory) return lv_.reset(i);  // held at reset until the own event ends it
    return v_beyond(i, t);
}

double LifCondExpPopulation::g_e_nS(std::uint32_t i, Tick t) const {
    double ge, gi;
    g_at(kin(i), n_[i], t, ge, gi);
    return ge * kin(i).g_leak_nS;
}

double LifCondExpPopulation::g_i_nS(std::uint32_t i, Tick t) const {
    double ge, gi;
    g_at(kin(i), n_[i], t, ge, gi);
    return gi * kin(i).g_leak_nS;
}

double LifCondExpPopulation::drift_mV_per_ms(std::uint32_t i, Tick t) const {
    const State& x = n_[i];
    if (x.mode == kRefractory) return 0.0;
    const double v = v_beyond(i, t);
    double ge, gi;
    g_at(kin(i), x, t, ge, gi);
    const Kinetics& k = kin(i);
    return (-(v - lv_.rest(i)) - ge * (v - k.e_e_mV) - gi * (v - k.e_i_mV)) * k.inv_tau_m;
}

void LifCondExpPopulation::save_state(StateWriter& w) const {
    w.section("lif_cond_exp " + name());
    lv_.save_state(w);
    w.values(n_);
}

void LifCondExpPopulation::load_state(StateReader& r) {
    r.section("lif_cond_exp " + name());
    lv_.load_state(r);
    r.same_size(n_, "neuron state");
}

}  // namespace spikeem
