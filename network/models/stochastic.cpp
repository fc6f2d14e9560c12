#include "network/models/stochastic.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "network/models/per_neuron.hpp"

namespace spikeem {

namespace {

// The parameters a neuron may have of its own, by their names in the spec
// (ModelTraits<StochasticParams>::per_neuron lists the same, and v_reset_mV).
constexpr std::pair<std::string_view, double StochasticParams::*> kFields[] = {
    {"tau_m_ms", &StochasticParams::tau_m_ms},
    {"v_rest_mV", &StochasticParams::v_rest_mV},
    {"drive_mV", &StochasticParams::drive_mV},
    {"drive_slope_mV_per_ms", &StochasticParams::drive_slope_mV_per_ms},
    {"tau_syn_ms", &StochasticParams::tau_syn_ms},
    {"noise_sigma_mV", &StochasticParams::noise_sigma_mV},
    {"rho_max_hz", &StochasticParams::rho_max_hz},
    {"beta_per_mV", &StochasticParams::beta_per_mV},
    {"theta_mV", &StochasticParams::theta_mV},
    {"t_ref_ms", &StochasticParams::t_ref_ms}};

}  // namespace

StochasticPopulation::Consts StochasticPopulation::consts(const StochasticParams& p, const TimeBase& time) {
    Consts c;
    c.tau_m_ms = p.tau_m_ms;
    c.v_rest_mV = p.v_rest_mV;
    c.drive_slope_mV_per_ms = p.drive_slope_mV_per_ms;
    c.tau_syn_ms = p.tau_syn_ms;
    c.noise_sigma_mV = p.noise_sigma_mV;
    c.rho_max_hz = p.rho_max_hz;
    c.beta_per_mV = p.beta_per_mV;
    c.theta_mV = p.theta_mV;
    c.reset = p.v_reset_mV.has_value();
    c.v_reset_mV = p.v_reset_mV.value_or(0.0);
    c.t_ref_ticks = time.round(p.t_ref_ms);
    c.horizon_ticks = std::max<Tick>(time.round(p.tau_m_ms), 1);
    return c;
}

StochasticPopulation::StochasticPopulation(const PopulationSpec& spec, std::uint32_t index,
                                           std::uint32_t global_offset, const TimeBase& time, std::uint64_t seed)
    : Population(spec.name, spec.size, index, global_offset),
      p_(std::get<StochasticParams>(spec.model)),
      time_(time),
      shared_(consts(p_, time)),
      v_(spec.size),
      i_(spec.size, 0.0),
      drive_(per_neuron_values(spec, "drive_mV", p_.drive_mV, seed)),
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
    // Each neuron's parameters when some are spread.  The loader checked the
    // model's rules at every corner of the spread ranges (all monotone in each
    // parameter: signs and finiteness; Softplus with noise_sigma_mV = 0 at the
    // top of its range), and kept tau_syn_ms 0.1 % away from tau_m_ms over both
    // ranges (apart() in io/loader/populations.cpp).  A tau_syn_ms range that
    // starts at 0 is accepted: a neuron whose draw is exactly 0 takes voltage
    // jumps, any other an exponential current of the same charge, which tends
    // to the jump as tau_syn -> 0 (the evolution stays finite down to the
    // smallest draws: the current w/tau_syn decays within tau_syn).
    const bool spread = std::any_of(spec.per_neuron.begin(), spec.per_neuron.end(),
                                    [](const ParameterSpread& s) { return s.parameter != "drive_mV"; });
    if (spread) {
        std::vector<StochasticParams> own(spec.size, p_);
        for (const ParameterSpread& s : spec.per_neuron) {
            if (s.parameter == "drive_mV") continue;  // in drive_
            if (s.parameter == "v_reset_mV") {  // a spread reset is a reset, given or not
                const std::vector<double> values = per_neuron_values(spec, s.parameter, 0.0, seed);
                for (std::uint32_t n = 0; n < spec.size; ++n) own[n].v_reset_mV = values[n];
                continue;
            }
            const auto* f = std::find_if(std::begin(kFields), std::end(kFields),
                                         [&](const auto& nf) { return s.parameter == nf.first; });
            if (f == std::end(kFields))  // the loader lets only ModelTraits<StochasticParams>::per_neuron through
                throw std::invalid_argument("stochastic population \"" + spec.name + "\": per_neuron parameter \"" +
                                            s.parameter + "\" is not one the model draws per neuron");
            const std::vector<double> values = per_neuron_values(spec, s.parameter, p_.*(f->second), seed);
            for (std::uint32_t n = 0; n < spec.size; ++n) own[n].*(f->second) = values[n];
        }
        per_.reserve(spec.size);
        for (const StochasticParams& q : own) {
            if (p_.rate_function == RateFunction::Softplus && q.noise_sigma_mV > 0.0)
                throw std::invalid_argument("stochastic population \"" + spec.name +
                                            "\": rate_function Softplus needs every neuron's noise_sigma_mV = 0 "
                                            "(a spread draws " + std::to_string(q.noise_sigma_mV) + " mV)");
            // The loader keeps spread tau_syn ranges 0.1 % clear of tau_m; this also
            // covers a spec built without it (the closed form divides by the difference).
            if (q.tau_syn_ms > 0.0 && std::abs(q.tau_syn_ms - q.tau_m_ms) < 1e-3 * q.tau_m_ms)
                throw std::invalid_argument("stochastic population \"" + spec.name +
                                            "\": a neuron draws tau_syn_ms = " +
                                            std::to_string(q.tau_syn_ms) + " within 0.1 % of its tau_m_ms = " +
                                            std::to_string(q.tau_m_ms) + " (ms): the spreads must keep them apart");
            per_.push_back(consts(q, time));
        }
    }
    const std::uint64_t pop_key = stable_hash(spec.name);
    rng_.reserve(spec.size);
    for (std::uint32_t n = 0; n < spec.size; ++n) {
        RandomStream init(seed, rng_domain::kInitialState, pop_key, n);
        v_[n] = draw(p_.v_init_mV, init);
        rng_.emplace_back(seed, rng_domain::kStochastic, pop_key, n);
    }
}

double StochasticPopulation::rho_hz(double v) const { return rho_hz(shared_, p_.rate_function, v); }

double StochasticPopulation::rho_hz(std::uint32_t n, double v) const {
    return rho_hz(consts_of(n), p_.rate_function, v);
}

double StochasticPopulation::rho_hz(const Consts& p, RateFunction f, double v) {
    // Every shape is non-decreasing in V: rate_bound_hz relies on it.
    if (f == RateFunction::HardSigmoid)
        return p.rho_max_hz * std::clamp(p.beta_per_mV * (v - p.theta_mV), 0.0, 1.0);
    if (f == RateFunction::Softplus) {
        // log(1 + e^u) without overflow: max(u, 0) + log1p(e^-|u|).
        const double u = p.beta_per_mV * (v - p.theta_mV);
        return p.rho_max_hz * (std::max(u, 0.0) + std::log1p(std::exp(-std::abs(u))));
    }
    return p.rho_max_hz / (1.0 + std::exp(-p.beta_per_mV * (v - p.theta_mV)));
}

double StochasticPopulation::mu(std::uint32_t n, Tick t) const {
    const Consts& c = consts_of(n);
    return c.v_rest_mV + drive_[n] + c.drive_slope_mV_per_ms * time_.to_ms(t);
}

void StochasticPopulation::set_drive(EngineHooks& engine, std::uint32_t n, Tick t, double drive_mV) {
    const Consts& c = consts_of(n);
    advance(n, t);
    drive_[n] = drive_mV;
    // A higher drive may raise the rate bound; with noise the bound is rho_max anyway.
    if (c.noise_sigma_mV == 0.0) schedule_candidate(engine, n);
}

StochasticPopulation::State StochasticPopulation::evolve(std::uint32_t n, Tick t) const {
    const Consts& c = consts_of(n);
    const double h = time_.to_ms(t - t_last_[n]);
    const double tau = c.tau_m_ms, slope = c.drive_slope_mV_per_ms;
    // Particular solution for the ramp: V_r(t) = mu(t) - slope tau.
    const double vr_now = mu(n, t) - slope * tau, vr_then = mu(n, t_last_[n]) - slope * tau;
    const double em = std::exp(-h / tau);
    if (c.tau_syn_ms == 0.0) return {vr_now + (v_[n] - vr_then) * em, 0.0};
    const double ts = c.tau_syn_ms, es = std::exp(-h / ts);
    const double a = i_[n] * tau * ts / (ts - tau);  // particular solution for the current (tau_syn != tau_m)
    return {vr_now + a * es + (v_[n] - vr_then - a) * em, i_[n] * es};
}

void StochasticPopulation::advance(std::uint32_t n, Tick t) {
    const Consts& c = consts_of(n);
    if (t == t_last_[n]) return;
    State s = evolve(n, t);
    if (c.noise_sigma_mV > 0.0) {
        const double h = time_.to_ms(t - t_last_[n]);
        s.v += c.noise_sigma_mV * std::sqrt(-std::expm1(-2.0 * h / c.tau_m_ms)) * rng_[n].normal();
    }
    v_[n] = s.v;
    i_[n] = s.i;
    t_last_[n] = t;
}

double StochasticPopulation::rate_bound_hz(std::uint32_t n) const {
    const Consts& c = consts_of(n);
    if (c.noise_sigma_mV > 0.0) return c.rho_max_hz;  // V is unbounded; rho is not
    // V(t0 + u) = V_r(t0 + u) + a e^{-u/tau_syn} + b e^{-u/tau_m}: bound each term over [0, H].
    const double tau = c.tau_m_ms, slope = c.drive_slope_mV_per_ms;
    const Tick t0 = t_last_[n];
    const double h = time_.to_ms(c.horizon_ticks);
    const double vr0 = mu(n, t0) - slope * tau, vr1 = vr0 + slope * h;
    double a = 0.0, a_end = 0.0;
    if (c.tau_syn_ms > 0.0) {
        a = i_[n] * tau * c.tau_syn_ms / (c.tau_syn_ms - tau);
        a_end = a * std::exp(-h / c.tau_syn_ms);
    }
    const double b = v_[n] - vr0 - a;
    const double sup = std::max(vr0, vr1) + std::max(a, a_end) + std::max(b, b * std::exp(-h / tau));
    return rho_hz(c, p_.rate_function, sup);
}

void StochasticPopulation::schedule_candidate(EngineHooks& engine, std::uint32_t n) {
    const Consts& c = consts_of(n);
    const double bound = rate_bound_hz(n);
    const double gap_ms = bound > 0.0 ? rng_[n].exponential(1000.0 / bound) : INFINITY;
    bound_hz_[n] = bound;
    if (gap_ms >= time_.to_ms(c.horizon_ticks)) {
        pending_[n] = t_last_[n] + c.horizon_ticks;  // nothing before the horizon: renew the bound there
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
    const Consts& c = consts_of(n);
    assert(pending_[n] == e.t);  // own events are moved in place, never left stale
    advance(n, e.t);
    if (!refresh_[n]) {
        const double u = rng_[n].uniform();
        if (u * bound_hz_[n] < rho_hz(c, p_.rate_function, v_[n]) && e.t >= ref_until_[n]) {
            if (c.reset) {
                v_[n] = c.v_reset_mV;
                last_reset_[n] = e.t;
            }
            ref_until_[n] = e.t + c.t_ref_ticks;
            engine.emit_spike(index(), n, e.t);
        }
    }
    schedule_candidate(engine, n);
}

void StochasticPopulation::deliver(EngineHooks& engine, Tick t, const std::uint32_t* targets, const double* weights,
                                   std::size_t count) {
        for (std::size_t j = 0; j < count; ++j) {
        const std::uint32_t n = targets[j];
        const Consts& c = consts_of(n);
        advance(n, t);
        if (c.tau_syn_ms == 0.0)
            v_[n] += weights[j];
        else
            i_[n] += weights[j] / c.tau_syn_ms;
        // Only excitation can raise the bound (with noise the bound is rho_max anyway).
        if (c.noise_sigma_mV == 0.0 && weights[j] > 0.0) schedule_candidate(engine, n);
    }
}

double StochasticPopulation::voltage_mV(std::uint32_t n, Tick t) const { return evolve(n, t).v; }

double StochasticPopulation::observe_voltage_mV(std::uint32_t n, Tick t) {
    const Consts& c = consts_of(n);
    if (c.noise_sigma_mV > 0.0) {
        advance(n, t);
        return v_[n];
    }
    return evolve(n, t).v;
}

double StochasticPopulation::drift_mV_per_ms(std::uint32_t n, Tick t) const {
    const Consts& c = consts_of(n);
    const State s = evolve(n, t);
    return -(s.v - mu(n, t)) / c.tau_m_ms + s.i;
}

double StochasticPopulation::psp_mV(std::uint32_t n, double w, Tick t_in, Tick t_now) const {
    const Consts& c = consts_of(n);
    const Tick r = last_reset_[n];
    if (c.tau_syn_ms == 0.0) return r >= t_in ? 0.0 : w * std::exp(-time_.to_ms(t_now - t_in) / c.tau_m_ms);
    // Exponential current: a reset clears V, the input's remaining current flows on.
    const Tick base = std::max(r, t_in);
    const double ts = c.tau_syn_ms, tau = c.tau_m_ms;
    const double i_base = w / ts * std::exp(-time_.to_ms(base - t_in) / ts);
    const double h = time_.to_ms(t_now - base);
    return i_base * tau * ts / (ts - tau) * (std::exp(-h / ts) - std::exp(-h / tau));
}

double StochasticPopulation::model_rate_hz(std::uint32_t n, Tick t) { return rho_hz(n, observe_voltage_mV(n, t)); }

void StochasticPopulation::add_current(EngineHooks& engine, std::uint32_t n, Tick t, double delta_mV) {
    // R I shifts the leak target mu = v_rest + drive + slope t, as drive_mV does.
    set_drive(engine, n, t, drive_[n] + delta_mV);
}

void StochasticPopulation::save_state(StateWriter& w) const {
    w.section("stochastic " + name());
    w.values(v_);
    w.values(i_);
    w.values(drive_);
    w.values(t_last_);
    w.values(pending_);
    w.values(bound_hz_);
    w.values(refresh_);
    w.values(ref_until_);
    w.values(last_reset_);
    w.values(rng_);
}

void StochasticPopulation::load_state(StateReader& r) {
    r.section("stochastic " + name());
    r.same_size(v_, "voltages");
    r.same_size(i_, "synaptic currents");
    r.same_size(drive_, "drives");
    r.same_size(t_last_, "state times");
    r.same_size(pending_, "candidate times");
    r.same_size(bound_hz_, "rate bounds");
    r.same_size(refresh_, "bound renewals");
    r.same_size(ref_until_, "refractory ends");
    r.same_size(last_reset_, "last resets");
    r.same_size(rng_, "random streams");
}

}  // namespace spikeem
