#include "network/current_input.hpp"

#include <cmath>

namespace spikeem {
CurrentInput::CurrentInput(const CurrentInputSpec& spec, std::uint32_t index, std::uint32_t target,
                           std::uint32_t target_size, std::uint32_t target_offset, const TimeBase& time,
                           std::uint64_t seed)
    : spec_(spec),
      index_(index),
      target_(target),
      begin_(spec.target_range ? spec.target_range->begin : 0),
      offset_(target_offset),
      time_(time),
      stop_(std::isfinite(spec.stop_ms) ? time.round(spec.stop_ms) : kNever) {
    const std::uint32_t end = spec.target_range ? spec.target_range->end : target_size;
    const std::uint64_t key = stable_hash(spec.name);
    value_.assign(end - begin_, 0.0);
    // Draws by the target neuron's index in its population: the same neuron
    // gets the same current whatever the range or the partitioning.
    if (const auto* dc = std::get_if<DcCurrent>(&spec.kind)) {
        dc_.reserve(end - begin_);
        for (std::uint32_t i = begin_; i < end; ++i) {
            RandomStream rng(seed, rng_domain::kCurrentInput, key, i);
            dc_.push_back(draw(dc->amplitude_mV, rng));
        }
    } else if (const auto* ou = std::get_if<OuCurrent>(&spec.kind)) {
        rng_.reserve(end - begin_);
        for (std::uint32_t i = begin_; i < end; ++i) rng_.emplace_back(seed, rng_domain::kCurrentInput, key, i);
        ou_decay_ = std::exp(-ou->dt_ms / ou->tau_ms);
        ou_kick_ = ou->sigma_mV * std::sqrt(-std::expm1(-2.0 * ou->dt_ms / ou->tau_ms));
    } else {
        // The schedule's change points inside [start, stop), and its value at start.
        const auto& st = std::get<StepCurrent>(spec.kind);
        double at_start = 0.0;
        for (std::size_t j = 0; j < st.t_ms.size() && st.t_ms[j] <= spec.start_ms; ++j) at_start = st.amplitude_mV[j];
        step_ticks_.push_back(time.round(spec.start_ms));
        step_values_.push_back(at_start);
        for (std::size_t j = 0; j < st.t_ms.size(); ++j) {
            if (st.t_ms[j] <= spec.start_ms || st.t_ms[j] >= spec.stop_ms) continue;
            step_ticks_.push_back(time.round(st.t_ms[j]));
            step_values_.push_back(st.amplitude_mV[j]);
        }
        if (stop_ != kNever) {
            step_ticks_.push_back(stop_);
            step_values_.push_back(0.0);
        }
    }
}

// Steps of each kind: DC: 0 at start (the neuron's amplitude), 1 at stop (0).
// Steps: the change points from the constructor.  OU: s at start + s dt_ms
// while before stop (sample s), then stop (0).
Tick CurrentInput::tick_of(std::uint32_t step) const {
    if (std::holds_alternative<DcCurrent>(spec_.kind))
        return step == 0 ? time_.round(spec_.start_ms) : step == 1 ? stop_ : kNever;
    if (std::holds_alternative<StepCurrent>(spec_.kind)) return step < step_ticks_.size() ? step_ticks_[step] : kNever;
    const auto& o = std::get<OuCurrent>(spec_.kind);
    const double t = spec_.start_ms + o.dt_ms * static_cast<double>(step);
    if (t < spec_.stop_ms) return time_.round(t);
    const bool first_past = step == 0 || spec_.start_ms + o.dt_ms * static_cast<double>(step - 1) < spec_.stop_ms;
    return first_past ? stop_ : kNever;
}

double CurrentInput::value_at(std::uint32_t k, std::uint32_t step) {
    if (std::holds_alternative<DcCurrent>(spec_.kind)) return step == 0 ? dc_[k] : 0.0;
    if (std::holds_alternative<StepCurrent>(spec_.kind)) return step_values_[step];
    const auto& o = std::get<OuCurrent>(spec_.kind);
    if (spec_.start_ms + o.dt_ms * static_cast<double>(step) >= spec_.stop_ms) return 0.0;
    RandomStream& r = rng_[k];
    if (step == 0) return o.mean_mV + o.sigma_mV * r.normal();  // stationary from the start
    return o.mean_mV + (value_[k] - o.mean_mV) * ou_decay_ + ou_kick_ * r.normal();
}

void CurrentInput::schedule(EngineHooks& engine, std::uint32_t k, std::uint32_t step) {
    const Tick t = tick_of(step);
    if (t != kNever) engine.schedule(Event{t, offset_ + begin_ + k, index_, step, EventKind::Current});
}

void CurrentInput::start(EngineHooks& engine) {
    for (std::uint32_t k = 0; k < value_.size(); ++k) schedule(engine, k, 0);
}

void CurrentInput::change(EngineHooks& engine, const Event& e, Population& pop) {
    const std::uint32_t local = e.src - offset_, k = local - begin_;
    const double v = value_at(k, e.aux2);
    if (v != value_[k]) pop.add_current(engine, local, e.t, v - value_[k]);
    value_[k] = v;
    schedule(engine, k, e.aux2 + 1);
}

void CurrentInput::save_state(StateWriter& w) const {
    w.section("current_input " + std::to_string(index_));
    w.values(rng_);
    w.values(value_);
}

void CurrentInput::load_state(StateReader& r) {
    r.section("current_input " + std::to_string(index_));
    r.same_size(rng_, "random streams");
    r.same_size(value_, "values");
}

}  // namespace spikeem
