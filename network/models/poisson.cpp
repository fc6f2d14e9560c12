#include "network/models/poisson.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
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

bool PoissonPopulation::advance_by_table(std::uint32_t i) {
    const std::vector<double>& t_ms = p_.rate_table.t_ms;
    const std::vector<double>& rate_hz = p_.rate_table.rate_hz;
    // exponential(1.0) is -log(u), so that segment k's step mean_k * e is
    // bit for bit the constant-rate step exponential(mean_k): a one-row table
    // from t = 0 draws the same spikes as rate_hz.
    double e = rng_[i].exponential(1.0);
    double t = next_ms_[i];
    // Row k - 1 holds t (k = 0: before the first row, rate 0).
    std::size_t k = static_cast<std::size_t>(std::upper_bound(t_ms.begin(), t_ms.end(), t) - t_ms.begin());
    for (;;) {
        const double end_ms = k < t_ms.size() ? t_ms[k] : std::numeric_limits<double>::infinity();
        const double r = k == 0 ? 0.0 : rate_hz[k - 1];
        if (r > 0.0) {
            const double mean_ms = 1000.0 / r;
            const double step_ms = mean_ms * e;
            if (t + step_ms < end_ms) {
                next_ms_[i] = t + step_ms;
                return true;
            }
            // The segment's integral of the rate, (end - t) / mean, is used up.
            e = std::max(0.0, e - (end_ms - t) / mean_ms);
        }
        if (k == t_ms.size() || t_ms[k] >= p_.stop_ms) return false;  // rate 0 from here to the end, or stopped
        t = t_ms[k++];
    }
}

void PoissonPopulation::schedule_next(EngineHooks& engine, std::uint32_t i) {
    if (!p_.rate_table.t_ms.empty()) {
        if (!advance_by_table(i)) return;
    } else if (p_.rate_slope_hz_per_s == 0.0) {
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
    if (!p_.rate_table.t_ms.empty())
        throw std::invalid_argument("set_rate: population \"" + name() + "\" follows a rate table; its rate cannot be set");
    mean_isi_ms_[i] = rate_hz > 0.0 ? 1000.0 / rate_hz : 0.0;
    pending_[i] = kNever;  // the old candidate, if any, is now stale
    next_ms_[i] = std::max(time_.to_ms(t), p_.start_ms);
    schedule_next(engine, i);
}

void PoissonPopulation::start(EngineHooks& engine) {
    if (p_.rate_hz <= 0.0 && p_.rate_slope_hz_per_s <= 0.0 && p_.rates_hz.empty() && p_.rate_table.t_ms.empty())
        return;
    for (std::uint32_t i = 0; i < size(); ++i) schedule_next(engine, i);
}

void PoissonPopulation::on_event(EngineHooks& engine, const Event& e, std::uint32_t i) {
    if (pending_[i] != e.t) return;  // replaced by set_rate
    engine.emit_spike(index(), i, e.t);
    schedule_next(engine, i);
}

void PoissonPopulation::save_state(StateWriter& w) const {
    w.section("poisson " + name());
    w.values(mean_isi_ms_);  // set_rate changes it
    w.values(rng_);
    w.values(next_ms_);
    w.values(pending_);
}

void PoissonPopulation::load_state(StateReader& r) {
    r.section("poisson " + name());
    r.same_size(mean_isi_ms_, "mean intervals");
    r.same_size(rng_, "random streams");
    r.same_size(next_ms_, "next spike times");
    r.same_size(pending_, "pending spikes");
}

}  // namespace spikeem
