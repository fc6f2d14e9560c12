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

LifDeltaPopulation::LifDeltaPopulation(const PopulationSpec& spec, std::uint32_t index, std::uint32_t global_offset,
                                       const TimeBase& time, std::uint64_t seed)
    : Population(spec.name, spec.size, index, global_offset),
      p_(std::get<LifDeltaParams>(spec.model)),
      time_(time),
      t_ref_ticks_(time.round(p_.t_ref_ms)),
      self_crossing_(p_.v_rest_mV > p_.v_th_mV),
      inv_tau_ticks_(time.resolution_ms() / p_.tau_m_ms),
      v_(spec.size),
      t_last_(spec.size, 0),
      pending_(spec.size, kNever) {
    const std::uint64_t pop_key = stable_hash(spec.name);
    for (std::uint32_t i = 0; i < spec.size; ++i) {
        RandomStream rng(seed, rng_domain::kInitialState, pop_key, i);
        v_[i] = draw(p_.v_init_mV, rng);
    }
}

double LifDeltaPopulation::decay(Tick dt) const { return std::exp(-static_cast<double>(dt) * inv_tau_ticks_); }

Tick LifDeltaPopulation::predict_crossing(std::uint32_t i) const {
    if (v_[i] >= p_.v_th_mV) return t_last_[i];
    if (!self_crossing_) return kNever;
    // V(t0 + s) = v_rest + (V0 - v_rest) e^{-s/tau} reaches v_th at
    // s = tau ln((V0 - v_rest) / (v_th - v_rest)); both differences are negative.
    double s_ms = p_.tau_m_ms * std::log((v_[i] - p_.v_rest_mV) / (p_.v_th_mV - p_.v_rest_mV));
    Tick s = time_.ceil(s_ms);
    if (s == kNever || t_last_[i] > kNever - s) return kNever;
    return t_last_[i] + std::max<Tick>(s, 1);
}

void LifDeltaPopulation::schedule_crossing(EngineHooks& engine, std::uint32_t i) {
    Tick when = predict_crossing(i);
    if (when < pending_[i]) {
        pending_[i] = when;
        engine.schedule(make_event(when, EventKind::Crossing, i));
    }
}

void LifDeltaPopulation::start(EngineHooks& engine) {
    if (!self_crossing_) return;
    for (std::uint32_t i = 0; i < size(); ++i) schedule_crossing(engine, i);
}

void LifDeltaPopulation::spike(EngineHooks& engine, std::uint32_t i, Tick t) {
    v_[i] = p_.v_reset_mV;
    t_last_[i] = t + t_ref_ticks_;  // V is clamped at v_reset until then
    pending_[i] = kNever;
    engine.emit_spike(index(), i, t);
    if (self_crossing_) schedule_crossing(engine, i);
}

void LifDeltaPopulation::on_event(EngineHooks& engine, const Event& e, std::uint32_t i) {
    assert(e.kind == EventKind::Crossing);
    if (pending_[i] != e.t) return;  // superseded by an earlier prediction, or the neuron fired
    pending_[i] = kNever;
    // Recompute from the same state with the same arithmetic: if nothing
    // inhibitory arrived since, this reproduces e.t exactly.
    if (predict_crossing(i) <= e.t) {
        spike(engine, i, e.t);
    } else {
        schedule_crossing(engine, i);
    }
}

void LifDeltaPopulation::deliver(EngineHooks& engine, Tick t, const std::uint32_t* targets, const double* weights,
                                 std::size_t n) {
    for (std::size_t k = 0; k < n; ++k) {
        const std::uint32_t i = targets[k];
        if (t < t_last_[i]) continue;  // refractory: the input is lost
        if (t != t_last_[i]) {
            v_[i] = p_.v_rest_mV + (v_[i] - p_.v_rest_mV) * decay(t - t_last_[i]);
            t_last_[i] = t;
        }
        v_[i] += weights[k];
        if (v_[i] >= p_.v_th_mV) {
            spike(engine, i, t);
        } else if (self_crossing_ && weights[k] > 0.0) {
            schedule_crossing(engine, i);  // excitation can only bring the crossing forward
        }
    }
}

double LifDeltaPopulation::voltage_mV(std::uint32_t i, Tick t) const {
    if (t <= t_last_[i]) return v_[i];  // also covers refractoriness (V held at reset)
    return p_.v_rest_mV + (v_[i] - p_.v_rest_mV) * decay(t - t_last_[i]);
}

// ------------------------------------------------------------------ Poisson

PoissonPopulation::PoissonPopulation(const PopulationSpec& spec, std::uint32_t index, std::uint32_t global_offset,
                                     const TimeBase& time, std::uint64_t seed)
    : Population(spec.name, spec.size, index, global_offset),
      p_(std::get<PoissonParams>(spec.model)),
      time_(time),
      mean_isi_ms_(p_.rate_hz > 0.0 ? 1000.0 / p_.rate_hz : 0.0),
      next_ms_(spec.size, p_.start_ms) {
    const std::uint64_t pop_key = stable_hash(spec.name);
    rng_.reserve(spec.size);
    for (std::uint32_t i = 0; i < spec.size; ++i) rng_.emplace_back(seed, rng_domain::kPoisson, pop_key, i);
}

void PoissonPopulation::schedule_next(EngineHooks& engine, std::uint32_t i) {
    next_ms_[i] += rng_[i].exponential(mean_isi_ms_);
    if (next_ms_[i] < p_.stop_ms) engine.schedule(make_event(time_.round(next_ms_[i]), EventKind::SourceFire, i));
}

void PoissonPopulation::start(EngineHooks& engine) {
    if (p_.rate_hz <= 0.0) return;
    for (std::uint32_t i = 0; i < size(); ++i) schedule_next(engine, i);
}

void PoissonPopulation::on_event(EngineHooks& engine, const Event& e, std::uint32_t i) {
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
    return std::make_unique<SpikeTimesPopulation>(spec, index, global_offset, time);
}

}  // namespace spikeem
