#include "network/models/lif_exp.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <stdexcept>

namespace spikeem {

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
      lv_(spec, {p_.v_rest_mV, p_.v_th_mV, p_.v_reset_mV, p_.t_ref_ms}, spec.takes_current, time, seed),
      time_(time),
      roots_(p_.tau_m_ms, p_.tau_e_ms, p_.tau_i_ms),
      ce_(p_.tau_e_ms / (p_.tau_e_ms - p_.tau_m_ms)),
      ci_(p_.tau_i_ms / (p_.tau_i_ms - p_.tau_m_ms)),
      inv_m_(time.resolution_ms() / p_.tau_m_ms),
      inv_e_(time.resolution_ms() / p_.tau_e_ms),
      inv_i_(time.resolution_ms() / p_.tau_i_ms),
      ne_(roots_.integer_re()),
      ni_(roots_.integer_ri()),
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
    // check part of the way there.  A speed trade-off only (examples/benchmarks/README.md
    // says how it was tuned): spikes do not depend on it.
    m_exact_ = 0.05 * (p_.v_th_mV - p_.v_reset_mV);
    const std::uint64_t pop_key = stable_hash(spec.name);
    for (std::uint32_t i = 0; i < spec.size; ++i) {
        RandomStream rng(seed, rng_domain::kInitialState, pop_key, i);
        const double v0 = spec.v_init_at_rest ? lv_.rest_start(i) : draw(p_.v_init_mV, rng);
        n_[i].a = v0 - lv_.rest(i);  // t0 = 0, g = 0
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
    x.a = (lv_.reset(i) - lv_.rest(i) - x.be * d.e - x.bi * d.i) / d.m;
    x.mode = kLazy;
    x.margin = 0.0;
}

void LifExpPopulation::predict(EngineHooks& engine, std::uint32_t i, Tick t, const Decay& d) {
    State& x = n_[i];
    const double A = x.a * d.m, E = x.be * d.e, I = x.bi * d.i;
    const double v_th = lv_.th(i), v_rest = lv_.rest(i);
    const double gap = v_th - (v_rest + A + E + I);
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
        const double level = v_th - kLazyFraction * gap;
        x.mode = kLazy;
        const ExpCrossing::Result r = roots_.early_crossing(v_rest - level, A, E, I);
        if (r.x > 0.0) {
            const double ticks = std::floor(-p_.tau_m_ms * std::log(r.x) * ticks_per_ms);
            if (ticks >= 1.0) {
                x.margin = v_th - level;
                schedule(ticks >= 9.0e18 ? kNever : later(static_cast<Tick>(ticks)));
                return;
            }
            // The level is reached within this tick: go for the exact crossing.
        } else {
            x.margin = v_th - level - r.sup;
            schedule(r.beyond ? later(horizon_ticks_) : kNever);
            return;
        }
    }
    const ExpCrossing::Result r = roots_.first_crossing(v_rest - v_th, A, E, I);
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

bool LifExpPopulation::revalidate(std::uint32_t i, State& x, const Decay& d, Tick t) const {
    if (x.pending == kNever) return false;
    const double bound = chord_bound(x.a * d.m, x.be * d.e, x.bi * d.i, static_cast<double>(x.pending - t));
    const double margin = (lv_.th(i) - lv_.rest(i) - bound) * (1.0 - 1e-9);
    if (!(margin > 0.0)) return false;
    x.margin = margin;
    return true;
}

void LifExpPopulation::spike(EngineHooks& engine, std::uint32_t i, Tick t) {
    State& x = n_[i];
    last_spike_[i] = t;
    clamp_[i] = t + lv_.t_ref(i);
    engine.emit_spike(index(), i, t);
    if (clamp_[i] > t) {
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
            if (x.margin < 0.0 && !(x.mode == kLazy && revalidate(i, x, now, t))) predict(engine, i, t, now);
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
    if (x.mode == kRefractory) return lv_.reset(i);  // held at reset until the own event ends it
    const Decay d = decay(t);
    return lv_.rest(i) + x.a * d.m + x.be * d.e + x.bi * d.i;
}

void LifExpPopulation::add_current(EngineHooks& engine, std::uint32_t i, Tick t, double delta_mV) {
    assert(lv_.varied() && t - t0_ < rebase_ticks_);
    lv_.add_current(i, delta_mV);
    State& x = n_[i];
    if (x.mode == kRefractory) return;  // V is held; unclamp starts from the new rest level
    // V stays continuous: its free part A moves by -delta.  The pending event
    // may now be too late (or too early): predict again from here.
    const Decay d = decay(t);
    x.a -= delta_mV / d.m;
    predict(engine, i, t, d);
}

double LifExpPopulation::g_e_mV(std::uint32_t i, Tick t) const { return n_[i].be * decay(t).e / ce_; }

double LifExpPopulation::g_i_mV(std::uint32_t i, Tick t) const { return n_[i].bi * decay(t).i / ci_; }

double LifExpPopulation::drift_mV_per_ms(std::uint32_t i, Tick t) const {
    if (n_[i].mode == kRefractory) return 0.0;
    return (-(voltage_mV(i, t) - lv_.rest(i)) + g_e_mV(i, t) + g_i_mV(i, t)) / p_.tau_m_ms;
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

}  // namespace spikeem
