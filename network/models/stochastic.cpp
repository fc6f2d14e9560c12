#include "network/models/stochastic.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <stdexcept>
#include <string>

namespace spikeem {

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
    // With noise the thinning bound is rho_max, which softplus exceeds.
    if (p_.rate_function == RateFunction::Softplus && p_.noise_sigma_mV > 0.0)
        throw std::invalid_argument("stochastic population \"" + spec.name +
                                    "\": rate_function Softplus needs noise_sigma_mV = 0 (got " +
                                    std::to_string(p_.noise_sigma_mV) + ")");
    const std::uint64_t pop_key = stable_hash(spec.name);
    rng_.reserve(spec.size);
    for (std::uint32_t n = 0; n < spec.size; ++n) {
        RandomStream init(seed, rng_domain::kInitialState, pop_key, n);
        v_[n] = draw(p_.v_init_mV, init);
        rng_.emplace_back(seed, rng_domain::kStochastic, pop_key, n);
    }
}

double StochasticPopulation::rho_hz(double v) const {
    // Every shape is non-decreasing in V: rate_bound_hz relies on it.
    if (p_.rate_function == RateFunction::HardSigmoid)
        return p_.rho_max_hz * std::clamp(p_.beta_per_mV * (v - p_.theta_mV), 0.0, 1.0);
    if (p_.rate_function == RateFunction::Softplus) {
        // log(1 + e^u) without overflow: max(u, 0) + log1p(e^-|u|).
        const double u = p_.beta_per_mV * (v - p_.theta_mV);
        return p_.rho_max_hz * (std::max(u, 0.0) + std::log1p(std::exp(-std::abs(u))));
    }
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

}  // namespace spikeem
