#include "network/populations.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <stdexcept>

namespace spikeem {

double draw(const Distribution& d, RandomStream& rng) {
    struct Visitor {
        RandomStream& rng;
        double operator()(double c) const { return c; }
        double operator()(const UniformDist& u) const { return rng.uniform(u.low, u.high); }
        double operator()(const NormalDist& n) const {
            return std::clamp(n.mean + n.std * rng.normal(), n.low, n.high);
        }
    };
    return std::visit(Visitor{rng}, d);
}

// ---------------------------------------------------------------- LIF delta
//
// Representation: V_i(t) = v_rest + u_i exp(-(t - t0)/tau_m) for t >= clamp_i
// (before clamp_i the neuron is refractory, V held at v_reset).  u_i is
// constant between inputs, an input adds w exp((t - t0)/tau_m), a factor
// shared by every target of one spike, and "V >= v_th" is "u_i >= the
// threshold line (v_th - v_rest) exp((t - t0)/tau_m)", also shared: delivery
// costs one exp per block, not per synapse.  The engine moves t0 to every
// multiple of the rebase period (40 tau_m, rebase()), so the factors stay
// below e^40; the instants depend on time alone, so a neuron's arithmetic is
// the same however the population is partitioned among threads.

LifDeltaPopulation::LifDeltaPopulation(const PopulationSpec& spec, std::uint32_t index, std::uint32_t global_offset,
                                       const TimeBase& time, std::uint64_t seed)
    : Population(spec.name, spec.size, index, global_offset),
      p_(std::get<LifDeltaParams>(spec.model)),
      time_(time),
      t_ref_ticks_(time.round(p_.t_ref_ms)),
      rebase_ticks_(std::max<Tick>(time.round(40.0 * p_.tau_m_ms), 1)),
      // At most 20 tau_m, so that the threshold line at a window's end (growth over the
      // window times up to e^40 from the rebasing) stays finite for any tau_m.
      window_ticks_(std::max<Tick>(time.round(std::min(kWindow_ms, 20.0 * p_.tau_m_ms)), 1)),
      self_crossing_(p_.v_rest_mV > p_.v_th_mV),
      inv_tau_ticks_(time.resolution_ms() / p_.tau_m_ms),
      n_(spec.size, State{0.0, 0, kNever}),
      last_spike_(spec.size, -1) {
    const std::uint64_t pop_key = stable_hash(spec.name);
    for (std::uint32_t i = 0; i < spec.size; ++i) {
        RandomStream rng(seed, rng_domain::kInitialState, pop_key, i);
        n_[i].u = draw(p_.v_init_mV, rng) - p_.v_rest_mV;  // t0 = 0
    }
}

double LifDeltaPopulation::decay(Tick dt) const { return std::exp(-static_cast<double>(dt) * inv_tau_ticks_); }

double LifDeltaPopulation::growth(Tick t) const { return std::exp(static_cast<double>(t - t0_) * inv_tau_ticks_); }

double LifDeltaPopulation::reach(Tick end) const {
    // The line is negative (v_th < v_rest): 1e-9 lower admits every u whose
    // crossing tick the logarithm in crossing_after could put before `end`.
    return (p_.v_th_mV - p_.v_rest_mV) * growth(end) * (1.0 + 1e-9);
}

void LifDeltaPopulation::rebase(Tick t) {
    const double f = decay(t - t0_);
    for (State& x : n_) x.u *= f;
    t0_ = t;
}

Tick LifDeltaPopulation::predict_crossing(std::uint32_t i, Tick now) const {
    const Tick from = std::max(now, n_[i].clamp);
    const double g = growth(from);
    if (n_[i].u >= (p_.v_th_mV - p_.v_rest_mV) * g) return from;
    if (!self_crossing_) return kNever;
    return crossing_after(n_[i].u, from);
}

Tick LifDeltaPopulation::crossing_after(double u, Tick from) const {
    // u e^{-(t - t0)/tau} = v_th - v_rest at t = t0 + tau ln(u / (v_th - v_rest)); both are negative.
    const double s_ms = p_.tau_m_ms * std::log(u / (p_.v_th_mV - p_.v_rest_mV));
    const Tick s = time_.ceil(s_ms);
    if (s == kNever || t0_ > kNever - s) return kNever;
    return std::max(t0_ + s, from + 1);
}

void LifDeltaPopulation::set_pending(EngineHooks& engine, std::uint32_t i, Tick when) {
    if (when < n_[i].pending) {
        n_[i].pending = when;
        engine.schedule_own(global_offset() + i, when);
    }
}

void LifDeltaPopulation::consider(EngineHooks& engine, std::uint32_t i, Tick now) {
    // Below the line at the window's end V stays below threshold until then
    // (the line only falls): the sweep at the end looks again.
    const Tick end = window_end(now);
    if (n_[i].clamp >= end || n_[i].u < reach(end)) return;
    const Tick when = predict_crossing(i, now);
    if (when < end) set_pending(engine, i, when);
}

void LifDeltaPopulation::start(EngineHooks& engine) {
    (void)engine;  // the first sweep, at t = 0, finds the first crossings
}

void LifDeltaPopulation::sweep(EngineHooks& engine, Tick t, std::uint32_t begin, std::uint32_t end) {
    assert(t % window_ticks_ == 0);
    const Tick w_end = t + window_ticks_;
    const double u_reach = reach(w_end);
    for (std::uint32_t i = begin; i < end; ++i) {
        const State& x = n_[i];
        // A pending event is no later than the crossing: it looks again when it pops.
        if (x.u < u_reach || x.clamp >= w_end || x.pending != kNever) continue;
        const Tick when = predict_crossing(i, t);
        if (when < w_end) set_pending(engine, i, when);
    }
}

void LifDeltaPopulation::spike(EngineHooks& engine, std::uint32_t i, Tick t) {
    n_[i].clamp = t + t_ref_ticks_;  // V is held at v_reset until then
    n_[i].u = (p_.v_reset_mV - p_.v_rest_mV) * growth(n_[i].clamp);
    last_spike_[i] = t;
    n_[i].pending = kNever;
    engine.emit_spike(index(), i, t);
    if (self_crossing_) consider(engine, i, t);
}

void LifDeltaPopulation::on_event(EngineHooks& engine, const Event& e, std::uint32_t i) {
    assert(e.kind == EventKind::Crossing);
    // The one own event of a neuron is moved in place (OwnEvents), never left stale.
    assert(n_[i].pending == e.t);
    assert(e.t - t0_ < rebase_ticks_);  // the engine rebases at every multiple of the period
    n_[i].pending = kNever;
    // The event was the crossing, or a lower bound of it if inhibition came
    // since: look from here on.
    const Tick when = predict_crossing(i, e.t);
    if (when <= e.t) spike(engine, i, e.t);
    else if (when < window_end(e.t)) set_pending(engine, i, when);
}

void LifDeltaPopulation::deliver(EngineHooks& engine, Tick t, const std::uint32_t* targets, const double* weights,
                                 std::size_t n) {
    assert(t - t0_ < rebase_ticks_);
    const double g = growth(t);
    const double u_th = (p_.v_th_mV - p_.v_rest_mV) * g;
    // Excitation taking u to u_reach may bring the crossing before the window's end.
    const Tick w_end = window_end(t);
    const double u_reach = self_crossing_ ? reach(w_end) : u_th;
    // The targets' states are scattered over the population: on a network
    // larger than the cache each is a miss, so the loads run kAhead targets
    // ahead of their use.
    constexpr std::size_t kAhead = 8;
    for (std::size_t k = 0; k < n; ++k) {
        if (k + kAhead < n) __builtin_prefetch(&n_[targets[k + kAhead]], 1);
        const std::uint32_t i = targets[k];
        const double w = weights[k];
        State& x = n_[i];
        if (t < x.clamp) continue;  // refractory: the input is lost
        x.u += w * g;
        if (x.u < u_reach) continue;
        if (x.u >= u_th) {
            spike(engine, i, t);
        } else if (w > 0.0) {
            // Only excitation moves a crossing earlier; V is below threshold here.
            const Tick when = crossing_after(x.u, t);
            if (when < w_end) set_pending(engine, i, when);
        }
    }
}

double LifDeltaPopulation::voltage_mV(std::uint32_t i, Tick t) const {
    if (last_spike_[i] >= 0 && t <= n_[i].clamp) return p_.v_reset_mV;  // held at reset while refractory
    return p_.v_rest_mV + n_[i].u * decay(t - t0_);
}

double LifDeltaPopulation::drift_mV_per_ms(std::uint32_t i, Tick t) const {
    if (t < n_[i].clamp) return 0.0;  // refractory: clamped
    return -(voltage_mV(i, t) - p_.v_rest_mV) / p_.tau_m_ms;
}

double LifDeltaPopulation::psp_mV(std::uint32_t i, double w, Tick t_in, Tick t_now) const {
    const Tick s = last_spike_[i];
    // Lost if it arrived while refractory; wiped by any reset at or after its arrival.
    if (s >= 0 && (s >= t_in || t_in < s + t_ref_ticks_)) return 0.0;
    return w * decay(t_now - t_in);
}

// ------------------------------------------------------------------ LIF exp
//
// Representation: for t >= the end of refractoriness,
//   V(t) = v_rest + a e^{-(t-t0)/tau_m} + be e^{-(t-t0)/tau_e} + bi e^{-(t-t0)/tau_i},
// where be e^{-(t-t0)/tau_e} = ce g_e(t) and bi e^{-(t-t0)/tau_i} = ci g_i(t)
// (ce = tau_e/(tau_e - tau_m): the particular solution for a decaying current).
// a, be, bi are constant between inputs.  An input w to g_e at t adds
// ce w e^{(t-t0)/tau_e} to be and, so that V stays continuous, subtracts
// ce w e^{(t-t0)/tau_m} from a: two multiply-adds per synapse with factors
// shared by the whole delivery block.  During refractoriness only be and bi
// are kept (V is held); `a` is set when it ends.  t0 moves forward (rebase)
// before the factors of the fastest time constant grow past e^30.


LifExpPopulation::LifExpPopulation(const PopulationSpec& spec, std::uint32_t index, std::uint32_t global_offset,
                                   const TimeBase& time, std::uint64_t seed)
    : Population(spec.name, spec.size, index, global_offset),
      p_(std::get<LifExpParams>(spec.model)),
      time_(time),
      roots_(p_.tau_m_ms, p_.tau_e_ms, p_.tau_i_ms),
      ce_(p_.tau_e_ms / (p_.tau_e_ms - p_.tau_m_ms)),
      ci_(p_.tau_i_ms / (p_.tau_i_ms - p_.tau_m_ms)),
      inv_m_(time.resolution_ms() / p_.tau_m_ms),
      inv_e_(time.resolution_ms() / p_.tau_e_ms),
      inv_i_(time.resolution_ms() / p_.tau_i_ms),
      ne_(roots_.integer_re()),
      ni_(roots_.integer_ri()),
      t_ref_ticks_(time.round(p_.t_ref_ms)),
      rebase_ticks_(std::max<Tick>(time.round(30.0 * std::min({p_.tau_m_ms, p_.tau_e_ms, p_.tau_i_ms})), 1)),
      horizon_ticks_(std::max<Tick>(time.round(roots_.horizon_ms()), 1)),
      n_(spec.size, State{0.0, 0.0, 0.0, 0.0, kNever, kLazy}),
      clamp_(spec.size, 0),
      last_spike_(spec.size, -1) {
    // Peak of the PSP of a unit g_e jump, at s* = ln(tau_m/tau_e) tau_m tau_e/(tau_m - tau_e);
    // a hair larger so that rounding never makes the margin test optimistic.
    const double tm = p_.tau_m_ms, te = p_.tau_e_ms;
    const double s_peak = std::log(tm / te) * tm * te / (tm - te);
    kmax_e_ = kernel(true, s_peak) * (1.0 + 1e-9);
    inv_m_slope_ = inv_m_ * (1.0 + 1e-9);
    // Closer than this to threshold the exact crossing is predicted; farther, a lazy
    // check part of the way there.  A speed trade-off only (tuned on cuba_exp: 0.03-0.2
    // of v_th - v_reset and fractions 0.25-0.5 are within 20 %): spikes do not depend on it.
    m_exact_ = 0.05 * (p_.v_th_mV - p_.v_reset_mV);
    const std::uint64_t pop_key = stable_hash(spec.name);
    for (std::uint32_t i = 0; i < spec.size; ++i) {
        RandomStream rng(seed, rng_domain::kInitialState, pop_key, i);
        n_[i].a = draw(p_.v_init_mV, rng) - p_.v_rest_mV;  // t0 = 0, g = 0
    }
}

double LifExpPopulation::kernel(bool excitatory, double s) const {
    const double c = excitatory ? ce_ : ci_, tau = excitatory ? p_.tau_e_ms : p_.tau_i_ms;
    return c * (std::exp(-s / tau) - std::exp(-s / p_.tau_m_ms));
}

LifExpPopulation::Decay LifExpPopulation::decay(Tick t) const {
    const double dt = static_cast<double>(t - t0_);
    const double m = std::exp(-dt * inv_m_);
    return {m, ne_ ? ipow(m, ne_) : std::exp(-dt * inv_e_), ni_ ? ipow(m, ni_) : std::exp(-dt * inv_i_)};
}

LifExpPopulation::Decay LifExpPopulation::growth(Tick t) const {
    const double dt = static_cast<double>(t - t0_);
    const double m = std::exp(dt * inv_m_);
    return {m, ne_ ? ipow(m, ne_) : std::exp(dt * inv_e_), ni_ ? ipow(m, ni_) : std::exp(dt * inv_i_)};
}

void LifExpPopulation::rebase(Tick t) {
    const Decay d = decay(t);
    for (State& x : n_) {
        x.a *= d.m;
        x.be *= d.e;
        x.bi *= d.i;
    }
    t0_ = t;
}

void LifExpPopulation::unclamp(std::uint32_t i, Tick t) {
    State& x = n_[i];
    const Decay d = decay(t);
    // V(t) = v_reset with the currents as they are now.
    x.a = (p_.v_reset_mV - p_.v_rest_mV - x.be * d.e - x.bi * d.i) / d.m;
    x.mode = kLazy;
    x.margin = 0.0;
}

void LifExpPopulation::predict(EngineHooks& engine, std::uint32_t i, Tick t, const Decay& d) {
    State& x = n_[i];
    const double A = x.a * d.m, E = x.be * d.e, I = x.bi * d.i;
    const double gap = p_.v_th_mV - (p_.v_rest_mV + A + E + I);
    if (gap <= 0.0) {  // at or past threshold now (an input at the tick of a crossing)
        spike(engine, i, t);
        return;
    }
    const double ticks_per_ms = static_cast<double>(time_.ticks_per_ms());
    auto schedule = [&](Tick when) {
        if (when == kNever) return;  // an older own event, if any, pops and predicts again: harmless
        x.pending = when;
        engine.schedule_own(global_offset() + i, when);
    };
    auto later = [&](Tick dt) { return dt >= kNever - t ? kNever : t + dt; };
    if (gap > m_exact_) {
        // Far from threshold: only find a time before V gets a fraction of the way there
        // (early_crossing: a bound, exact enough, without root finding).  Until then
        // (floor: not past it) V <= level, which leaves kLazyFraction * gap for excitation
        // to spend.
        const double level = p_.v_th_mV - kLazyFraction * gap;
        x.mode = kLazy;
        const ExpCrossing::Result r = roots_.early_crossing(p_.v_rest_mV - level, A, E, I);
        if (r.x > 0.0) {
            const double ticks = std::floor(-p_.tau_m_ms * std::log(r.x) * ticks_per_ms);
            if (ticks >= 1.0) {
                x.margin = p_.v_th_mV - level;
                schedule(ticks >= 9.0e18 ? kNever : later(static_cast<Tick>(ticks)));
                return;
            }
            // The level is reached within this tick: go for the exact crossing.
        } else {
            x.margin = p_.v_th_mV - level - r.sup;
            schedule(r.beyond ? later(horizon_ticks_) : kNever);
            return;
        }
    }
    const ExpCrossing::Result r = roots_.first_crossing(p_.v_rest_mV - p_.v_th_mV, A, E, I);
    if (r.x > 0.0) {
        // The first tick at or after the crossing, so that V is past threshold at the spike.
        const Tick s = time_.ceil(-p_.tau_m_ms * std::log(r.x));
        x.mode = kExact;
        x.margin = 0.0;
        schedule(s == kNever ? kNever : later(std::max<Tick>(s, 1)));
    } else {
        x.mode = kLazy;
        x.margin = -r.sup;
        schedule(r.beyond ? later(horizon_ticks_) : kNever);
    }
}

double LifExpPopulation::chord_bound(double A, double E, double I, double h) const {
    // Over [0, h] (ticks) V - v_rest is at most the larger of its end values plus h^2/8
    // times a bound of V'' (the chord bound of a function with bounded curvature), and
    // each term of V'' = A/tau_m^2 e^{-s/tau_m} + ... is at most its larger end value.
    // Tight for short windows: no root finding, one exp.
    const double fm = std::exp(-h * inv_m_);
    const double fe = ne_ ? ipow(fm, ne_) : std::exp(-h * inv_e_), fi = ni_ ? ipow(fm, ni_) : std::exp(-h * inv_i_);
    const double v0 = A + E + I, vh = A * fm + E * fe + I * fi;
    const double am = A * inv_m_ * inv_m_, ae = E * inv_e_ * inv_e_, ai = I * inv_i_ * inv_i_;  // per tick^2
    const double curv = std::max(am, am * fm) + std::max(ae, ae * fe) + std::max(ai, ai * fi);
    return std::max(v0, vh) + 0.125 * h * h * std::max(curv, 0.0);
}

bool LifExpPopulation::revalidate(State& x, const Decay& d, Tick t) const {
    if (x.pending == kNever) return false;
    const double bound = chord_bound(x.a * d.m, x.be * d.e, x.bi * d.i, static_cast<double>(x.pending - t));
    const double margin = (p_.v_th_mV - p_.v_rest_mV - bound) * (1.0 - 1e-9);
    if (!(margin > 0.0)) return false;
    x.margin = margin;
    return true;
}

void LifExpPopulation::spike(EngineHooks& engine, std::uint32_t i, Tick t) {
    State& x = n_[i];
    last_spike_[i] = t;
    clamp_[i] = t + t_ref_ticks_;
    engine.emit_spike(index(), i, t);
    if (t_ref_ticks_ > 0) {
        x.mode = kRefractory;
        x.pending = clamp_[i];
        engine.schedule_own(global_offset() + i, clamp_[i]);
    } else {
        unclamp(i, t);
        predict(engine, i, t, decay(t));
    }
}

void LifExpPopulation::start(EngineHooks& engine) {
    const Decay d0 = decay(0);
    for (std::uint32_t i = 0; i < size(); ++i) predict(engine, i, 0, d0);
}

void LifExpPopulation::on_event(EngineHooks& engine, const Event& e, std::uint32_t i) {
    assert(e.kind == EventKind::Crossing);
    State& x = n_[i];
    assert(x.pending == e.t);  // own events are moved in place, never left stale
    assert(e.t - t0_ < rebase_ticks_);  // the engine rebases at every multiple of rebase_period()
    x.pending = kNever;
    switch (x.mode) {
        case kRefractory:
            unclamp(i, e.t);
            predict(engine, i, e.t, decay(e.t));
            break;
        case kExact:  // nothing has changed the state since the crossing was predicted
            spike(engine, i, e.t);
            break;
        case kLazy:
            predict(engine, i, e.t, decay(e.t));
            break;
    }
}

void LifExpPopulation::deliver(EngineHooks& engine, Tick t, const std::uint32_t* targets, const double* weights,
                               std::size_t n) {
    assert(t - t0_ < rebase_ticks_);
    const Decay g = growth(t);
    const double fe = ce_ * g.e, fae = ce_ * g.m, fi = ci_ * g.i, fai = ci_ * g.m;
    const Decay now{1.0 / g.m, 1.0 / g.e, 1.0 / g.i};
    for (std::size_t k = 0; k < n; ++k) {
        const std::uint32_t i = targets[k];
        const double w = weights[k];
        State& x = n_[i];
        if (w > 0.0) {
            x.be += w * fe;
            if (x.mode == kRefractory) continue;  // V is held; the current flows on
            x.a -= w * fae;
            // Until the pending event V rises by at most w K_e(h), h = pending - t, and
            // K_e(h) <= min(h / tau_m, kmax_e) (K_e' <= K_e'(0) = 1/tau_m): the pending
            // event stays valid while margin is left.
            x.margin -= w * std::min(static_cast<double>(x.pending - t) * inv_m_slope_, kmax_e_);
            if (x.margin < 0.0 && !(x.mode == kLazy && revalidate(x, now, t))) predict(engine, i, t, now);
        } else {
            x.bi += w * fi;
            if (x.mode == kRefractory) continue;
            x.a -= w * fai;
            // Inhibition lowers V at every later time: the pending crossing can only come
            // later, so it is now a lower bound to look at again when it pops.
            if (x.mode == kExact) x.mode = kLazy;
        }
    }
}

double LifExpPopulation::voltage_mV(std::uint32_t i, Tick t) const {
    const State& x = n_[i];
    if (x.mode == kRefractory) return p_.v_reset_mV;  // held at reset until the own event ends it
    const Decay d = decay(t);
    return p_.v_rest_mV + x.a * d.m + x.be * d.e + x.bi * d.i;
}

double LifExpPopulation::g_e_mV(std::uint32_t i, Tick t) const { return n_[i].be * decay(t).e / ce_; }

double LifExpPopulation::g_i_mV(std::uint32_t i, Tick t) const { return n_[i].bi * decay(t).i / ci_; }

double LifExpPopulation::drift_mV_per_ms(std::uint32_t i, Tick t) const {
    if (n_[i].mode == kRefractory) return 0.0;
    return (-(voltage_mV(i, t) - p_.v_rest_mV) + g_e_mV(i, t) + g_i_mV(i, t)) / p_.tau_m_ms;
}

double LifExpPopulation::psp_mV(std::uint32_t i, double w, Tick t_in, Tick t_now) const {
    const bool exc = w > 0.0;
    const Tick s = last_spike_[i];
    if (s >= 0 && t_now < clamp_[i]) return 0.0;  // V held at reset now
    // A reset at or after the input (or refractoriness when it came) wipes its part of V;
    // what is left of its current at the end of refractoriness charges V afresh.
    Tick base = t_in;
    if (s >= 0 && (s >= t_in || t_in < clamp_[i])) base = clamp_[i];
    const double tau = exc ? p_.tau_e_ms : p_.tau_i_ms;
    const double g_base = w * std::exp(-time_.to_ms(base - t_in) / tau);
    return g_base * kernel(exc, time_.to_ms(t_now - base));
}

// --------------------------------------------------------------- stochastic

StochasticPopulation::StochasticPopulation(const PopulationSpec& spec, std::uint32_t index,
                                           std::uint32_t global_offset, const TimeBase& time, std::uint64_t seed)
    : Population(spec.name, spec.size, index, global_offset),
      p_(std::get<StochasticParams>(spec.model)),
      time_(time),
      t_ref_ticks_(time.round(p_.t_ref_ms)),
      horizon_ticks_(std::max<Tick>(time.round(p_.tau_m_ms), 1)),
      v_(spec.size),
      i_(spec.size, 0.0),
      drive_(spec.size, p_.drive_mV),
      t_last_(spec.size, 0),
      pending_(spec.size, kNever),
      bound_hz_(spec.size, 0.0),
      refresh_(spec.size, 0),
      ref_until_(spec.size, 0),
      last_reset_(spec.size, -1) {
    const std::uint64_t pop_key = stable_hash(spec.name);
    rng_.reserve(spec.size);
    for (std::uint32_t n = 0; n < spec.size; ++n) {
        RandomStream init(seed, rng_domain::kInitialState, pop_key, n);
        v_[n] = draw(p_.v_init_mV, init);
        rng_.emplace_back(seed, rng_domain::kStochastic, pop_key, n);
    }
}

double StochasticPopulation::rho_hz(double v) const {
    // Both shapes are non-decreasing in V: rate_bound_hz relies on it.
    if (p_.rate_function == RateFunction::HardSigmoid)
        return p_.rho_max_hz * std::clamp(p_.beta_per_mV * (v - p_.theta_mV), 0.0, 1.0);
    return p_.rho_max_hz / (1.0 + std::exp(-p_.beta_per_mV * (v - p_.theta_mV)));
}

double StochasticPopulation::mu(std::uint32_t n, Tick t) const {
    return p_.v_rest_mV + drive_[n] + p_.drive_slope_mV_per_ms * time_.to_ms(t);
}

void StochasticPopulation::set_drive(EngineHooks& engine, std::uint32_t n, Tick t, double drive_mV) {
    advance(n, t);
    drive_[n] = drive_mV;
    // A higher drive may raise the rate bound; with noise the bound is rho_max anyway.
    if (p_.noise_sigma_mV == 0.0) schedule_candidate(engine, n);
}

StochasticPopulation::State StochasticPopulation::evolve(std::uint32_t n, Tick t) const {
    const double h = time_.to_ms(t - t_last_[n]);
    const double tau = p_.tau_m_ms, slope = p_.drive_slope_mV_per_ms;
    // Particular solution for the ramp: V_r(t) = mu(t) - slope tau.
    const double vr_now = mu(n, t) - slope * tau, vr_then = mu(n, t_last_[n]) - slope * tau;
    const double em = std::exp(-h / tau);
    if (p_.tau_syn_ms == 0.0) return {vr_now + (v_[n] - vr_then) * em, 0.0};
    const double ts = p_.tau_syn_ms, es = std::exp(-h / ts);
    const double a = i_[n] * tau * ts / (ts - tau);  // particular solution for the current (tau_syn != tau_m)
    return {vr_now + a * es + (v_[n] - vr_then - a) * em, i_[n] * es};
}

void StochasticPopulation::advance(std::uint32_t n, Tick t) {
    if (t == t_last_[n]) return;
    State s = evolve(n, t);
    if (p_.noise_sigma_mV > 0.0) {
        const double h = time_.to_ms(t - t_last_[n]);
        s.v += p_.noise_sigma_mV * std::sqrt(-std::expm1(-2.0 * h / p_.tau_m_ms)) * rng_[n].normal();
    }
    v_[n] = s.v;
    i_[n] = s.i;
    t_last_[n] = t;
}

double StochasticPopulation::rate_bound_hz(std::uint32_t n) const {
    if (p_.noise_sigma_mV > 0.0) return p_.rho_max_hz;  // V is unbounded; rho is not
    // V(t0 + u) = V_r(t0 + u) + a e^{-u/tau_syn} + c e^{-u/tau_m}: bound each term over [0, H].
    const double tau = p_.tau_m_ms, slope = p_.drive_slope_mV_per_ms;
    const Tick t0 = t_last_[n];
    const double h = time_.to_ms(horizon_ticks_);
    const double vr0 = mu(n, t0) - slope * tau, vr1 = vr0 + slope * h;
    double a = 0.0, a_end = 0.0;
    if (p_.tau_syn_ms > 0.0) {
        a = i_[n] * tau * p_.tau_syn_ms / (p_.tau_syn_ms - tau);
        a_end = a * std::exp(-h / p_.tau_syn_ms);
    }
    const double c = v_[n] - vr0 - a;
    const double sup = std::max(vr0, vr1) + std::max(a, a_end) + std::max(c, c * std::exp(-h / tau));
    return rho_hz(sup);
}

void StochasticPopulation::schedule_candidate(EngineHooks& engine, std::uint32_t n) {
    const double bound = rate_bound_hz(n);
    const double gap_ms = bound > 0.0 ? rng_[n].exponential(1000.0 / bound) : INFINITY;
    bound_hz_[n] = bound;
    if (gap_ms >= time_.to_ms(horizon_ticks_)) {
        pending_[n] = t_last_[n] + horizon_ticks_;  // nothing before the horizon: renew the bound there
        refresh_[n] = 1;
    } else {
        pending_[n] = t_last_[n] + time_.round(gap_ms);
        refresh_[n] = 0;
    }
    engine.schedule_own(global_offset() + n, pending_[n]);
}

void StochasticPopulation::start(EngineHooks& engine) {
    for (std::uint32_t n = 0; n < size(); ++n) schedule_candidate(engine, n);
}

void StochasticPopulation::on_event(EngineHooks& engine, const Event& e, std::uint32_t n) {
    assert(pending_[n] == e.t);  // own events are moved in place, never left stale
    advance(n, e.t);
    if (!refresh_[n]) {
        const double u = rng_[n].uniform();
        if (u * bound_hz_[n] < rho_hz(v_[n]) && e.t >= ref_until_[n]) {
            if (p_.v_reset_mV) {
                v_[n] = *p_.v_reset_mV;
                last_reset_[n] = e.t;
            }
            ref_until_[n] = e.t + t_ref_ticks_;
            engine.emit_spike(index(), n, e.t);
        }
    }
    schedule_candidate(engine, n);
}

void StochasticPopulation::deliver(EngineHooks& engine, Tick t, const std::uint32_t* targets, const double* weights,
                                   std::size_t count) {
    const bool noisy = p_.noise_sigma_mV > 0.0;
    for (std::size_t k = 0; k < count; ++k) {
        const std::uint32_t n = targets[k];
        advance(n, t);
        if (p_.tau_syn_ms == 0.0)
            v_[n] += weights[k];
        else
            i_[n] += weights[k] / p_.tau_syn_ms;
        // Only excitation can raise the bound (with noise the bound is rho_max anyway).
        if (!noisy && weights[k] > 0.0) schedule_candidate(engine, n);
    }
}

double StochasticPopulation::voltage_mV(std::uint32_t n, Tick t) const { return evolve(n, t).v; }

double StochasticPopulation::observe_voltage_mV(std::uint32_t n, Tick t) {
    if (p_.noise_sigma_mV > 0.0) {
        advance(n, t);
        return v_[n];
    }
    return evolve(n, t).v;
}

double StochasticPopulation::drift_mV_per_ms(std::uint32_t n, Tick t) const {
    const State s = evolve(n, t);
    return -(s.v - mu(n, t)) / p_.tau_m_ms + s.i;
}

double StochasticPopulation::psp_mV(std::uint32_t n, double w, Tick t_in, Tick t_now) const {
    const Tick r = last_reset_[n];
    if (p_.tau_syn_ms == 0.0) return r >= t_in ? 0.0 : w * std::exp(-time_.to_ms(t_now - t_in) / p_.tau_m_ms);
    // Exponential current: a reset clears V, the input's remaining current flows on.
    const Tick base = std::max(r, t_in);
    const double ts = p_.tau_syn_ms, tau = p_.tau_m_ms;
    const double i_base = w / ts * std::exp(-time_.to_ms(base - t_in) / ts);
    const double h = time_.to_ms(t_now - base);
    return i_base * tau * ts / (ts - tau) * (std::exp(-h / ts) - std::exp(-h / tau));
}

double StochasticPopulation::model_rate_hz(std::uint32_t n, Tick t) { return rho_hz(observe_voltage_mV(n, t)); }

// ------------------------------------------------------------------ Poisson

PoissonPopulation::PoissonPopulation(const PopulationSpec& spec, std::uint32_t index, std::uint32_t global_offset,
                                     const TimeBase& time, std::uint64_t seed)
    : Population(spec.name, spec.size, index, global_offset),
      p_(std::get<PoissonParams>(spec.model)),
      time_(time),
      mean_isi_ms_(spec.size),
      next_ms_(spec.size, p_.start_ms),
      pending_(spec.size, kNever) {
    for (std::uint32_t i = 0; i < spec.size; ++i) {
        const double r = p_.rates_hz.empty() ? p_.rate_hz : p_.rates_hz[i];
        mean_isi_ms_[i] = r > 0.0 ? 1000.0 / r : 0.0;
    }
    const std::uint64_t pop_key = stable_hash(spec.name);
    rng_.reserve(spec.size);
    for (std::uint32_t i = 0; i < spec.size; ++i) rng_.emplace_back(seed, rng_domain::kPoisson, pop_key, i);
}

void PoissonPopulation::schedule_next(EngineHooks& engine, std::uint32_t i) {
    if (p_.rate_slope_hz_per_s == 0.0) {
        if (mean_isi_ms_[i] == 0.0) return;  // silent
        next_ms_[i] += rng_[i].exponential(mean_isi_ms_[i]);
    } else {
        // Time rescaling, exactly: find d with integral of r over [t, t + d] = E ~ Exp(1),
        // r(t) = r0 + s t (t in s): r(t) d + s d^2 / 2 = E.
        const double e = rng_[i].exponential(1.0);
        const double s = p_.rate_slope_hz_per_s;
        const double r = std::max(0.0, p_.rate_hz + s * next_ms_[i] / 1000.0);
        const double disc = r * r + 2.0 * s * e;
        if (disc < 0.0) return;  // the rate reaches 0 first: no more spikes
        next_ms_[i] += 1000.0 * 2.0 * e / (r + std::sqrt(disc));
    }
    if (next_ms_[i] < p_.stop_ms) {
        pending_[i] = time_.round(next_ms_[i]);
        engine.schedule(make_event(pending_[i], EventKind::SourceFire, i));
    }
}

void PoissonPopulation::set_rate(EngineHooks& engine, std::uint32_t i, Tick t, double rate_hz) {
    mean_isi_ms_[i] = rate_hz > 0.0 ? 1000.0 / rate_hz : 0.0;
    pending_[i] = kNever;  // the old candidate, if any, is now stale
    next_ms_[i] = std::max(time_.to_ms(t), p_.start_ms);
    schedule_next(engine, i);
}

void PoissonPopulation::start(EngineHooks& engine) {
    if (p_.rate_hz <= 0.0 && p_.rate_slope_hz_per_s <= 0.0 && p_.rates_hz.empty()) return;
    for (std::uint32_t i = 0; i < size(); ++i) schedule_next(engine, i);
}

void PoissonPopulation::on_event(EngineHooks& engine, const Event& e, std::uint32_t i) {
    if (pending_[i] != e.t) return;  // replaced by set_rate
    engine.emit_spike(index(), i, e.t);
    schedule_next(engine, i);
}

// -------------------------------------------------------------- spike times

SpikeTimesPopulation::SpikeTimesPopulation(const PopulationSpec& spec, std::uint32_t index,
                                           std::uint32_t global_offset, const TimeBase& time)
    : Population(spec.name, spec.size, index, global_offset), times_(spec.size), next_(spec.size, 0) {
    const auto& p = std::get<SpikeTimesParams>(spec.model);
    for (std::size_t i = 0; i < p.times_ms.size() && i < spec.size; ++i) {
        for (double t : p.times_ms[i]) times_[i].push_back(time.round(t));
        std::sort(times_[i].begin(), times_[i].end());
    }
}

void SpikeTimesPopulation::start(EngineHooks& engine) {
    for (std::uint32_t i = 0; i < size(); ++i)
        if (!times_[i].empty()) engine.schedule(make_event(times_[i][0], EventKind::SourceFire, i));
}

void SpikeTimesPopulation::on_event(EngineHooks& engine, const Event& e, std::uint32_t i) {
    engine.emit_spike(index(), i, e.t);
    if (++next_[i] < times_[i].size()) engine.schedule(make_event(times_[i][next_[i]], EventKind::SourceFire, i));
}

std::unique_ptr<Population> make_population(const PopulationSpec& spec, std::uint32_t index,
                                            std::uint32_t global_offset, const TimeBase& time, std::uint64_t seed) {
    if (std::holds_alternative<LifDeltaParams>(spec.model))
        return std::make_unique<LifDeltaPopulation>(spec, index, global_offset, time, seed);
    if (std::holds_alternative<PoissonParams>(spec.model))
        return std::make_unique<PoissonPopulation>(spec, index, global_offset, time, seed);
    if (std::holds_alternative<LifExpParams>(spec.model))
        return std::make_unique<LifExpPopulation>(spec, index, global_offset, time, seed);
    if (std::holds_alternative<StochasticParams>(spec.model))
        return std::make_unique<StochasticPopulation>(spec, index, global_offset, time, seed);
    return std::make_unique<SpikeTimesPopulation>(spec, index, global_offset, time);
}

}  // namespace spikeem
