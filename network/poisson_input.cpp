#include "network/poisson_input.hpp"

namespace spikeem {

PoissonInput::PoissonInput(const PoissonInputSpec& spec, std::uint32_t index, std::uint32_t target,
                           std::uint32_t target_size, std::uint32_t target_offset, const TimeBase& time,
                           std::uint64_t seed)
    : index_(index),
      target_(target),
      begin_(spec.target_range ? spec.target_range->begin : 0),
      offset_(target_offset),
      mean_isi_ms_(spec.rate_hz > 0.0 && spec.sources > 0 ? 1000.0 / (spec.rate_hz * spec.sources) : 0.0),
      weight_mV_(spec.weight_mV),
      stop_ms_(spec.stop_ms),
      time_(time) {
    const std::uint32_t end = spec.target_range ? spec.target_range->end : target_size;
    const std::uint64_t key = stable_hash(spec.name);
    rng_.reserve(end - begin_);
    // Streams by the target neuron's index in its population: the same neuron
    // gets the same train whatever the range or the partitioning.
    for (std::uint32_t i = begin_; i < end; ++i) rng_.emplace_back(seed, rng_domain::kPoissonInput, key, i);
    next_ms_.assign(end - begin_, spec.start_ms);
}

void PoissonInput::schedule_next(EngineHooks& engine, std::uint32_t k) {
    // Intervals are drawn in double ms and only the arrival is rounded to the
    // tick, so rounding never accumulates.
    next_ms_[k] += rng_[k].exponential(mean_isi_ms_);
    if (next_ms_[k] < stop_ms_)
        engine.schedule(Event{time_.round(next_ms_[k]), offset_ + begin_ + k, index_, 0, EventKind::Input});
}

void PoissonInput::start(EngineHooks& engine) {
    if (mean_isi_ms_ == 0.0) return;
    for (std::uint32_t k = 0; k < next_ms_.size(); ++k) schedule_next(engine, k);
}

void PoissonInput::fire(EngineHooks& engine, const Event& e, Population& pop) {
    const std::uint32_t local = e.src - offset_;
    pop.deliver(engine, e.t, &local, &weight_mV_, 1);
    schedule_next(engine, local - begin_);
}

void PoissonInput::save_state(StateWriter& w) const {
    w.section("poisson_input " + std::to_string(index_));
    w.values(rng_);
    w.values(next_ms_);
}

void PoissonInput::load_state(StateReader& r) {
    r.section("poisson_input " + std::to_string(index_));
    r.same_size(rng_, "random streams");
    r.same_size(next_ms_, "next input times");
}

}  // namespace spikeem
