#include "network/models/poisson.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <stdexcept>

namespace spikeem {

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

}  // namespace spikeem
