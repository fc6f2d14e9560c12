#include "network/poisson_input.hpp"

#include <algorithm>

namespace spikeem {

PoissonInput::PoissonInput(const PoissonInputSpec& spec, std::uint32_t index, std::uint32_t target,
                           std::uint32_t target_size, std::uint32_t target_offset, const TimeBase& time,
                           std::uint64_t seed)
    : index_(index),
      target_(target),
      begin_(spec.target_range ? spec.target_range->begin : 0),
      end_(spec.target_range ? spec.target_range->end : target_size),
      offset_(target_offset),
      mean_isi_ms_(spec.rate_hz > 0.0 && spec.sources > 0 ? 1000.0 / (spec.rate_hz * spec.sources) : 0.0),
      weight_mV_(spec.weight_mV),
      start_ms_(spec.start_ms),
      stop_ms_(spec.stop_ms),
      time_(time) {
    const std::uint64_t key = stable_hash(spec.name);
    rng_.reserve(end_ - begin_);
    // Streams by the target neuron's index in its population: the same neuron
    // gets the same train whatever the range or the partitioning.
    for (std::uint32_t i = begin_; i < end_; ++i) rng_.emplace_back(seed, rng_domain::kPoissonInput, key, i);
    next_ms_.assign(end_ - begin_, spec.start_ms);
}

std::uint32_t PoissonInput::targets_in(std::uint32_t lo, std::uint32_t hi) const {
    lo = std::max(lo, begin_);
    hi = std::min(hi, end_);
    return lo < hi ? hi - lo : 0;
}

// Intervals are drawn in double ms and only the arrival is rounded to the
// tick, so rounding never accumulates.
void PoissonInput::start() {
    if (mean_isi_ms_ == 0.0) return;
    for (std::size_t k = 0; k < next_ms_.size(); ++k) next_ms_[k] += rng_[k].exponential(mean_isi_ms_);
}

bool PoissonInput::fill(Tick from, Tick to, std::uint32_t lo, std::uint32_t hi, std::vector<InputArrival>& out) {
    // Arrivals are in [start_ms, stop_ms) before rounding, so within half a
    // tick of it after: a tick's margin on either side.
    const double tick_ms = time_.to_ms(1);
    if (mean_isi_ms_ == 0.0 || time_.to_ms(from) > stop_ms_ + tick_ms) return false;
    if (time_.to_ms(to) + tick_ms < start_ms_) return true;
    lo = std::max(lo, begin_);
    hi = std::min(hi, end_);
    if (lo >= hi) return true;
    const double stop_ms = stop_ms_;
    for (std::uint32_t k = lo - begin_; k < hi - begin_; ++k) {
        double next = next_ms_[k];
        Tick t;
        // (round() is monotone, so an arrival rounded into [from, to) is one of these.)
        while (next < stop_ms && (t = time_.round_nonneg(next)) < to) {
            out.push_back(InputArrival{t, offset_ + begin_ + k, index_});
            next += rng_[k].exponential(mean_isi_ms_);
        }
        next_ms_[k] = next;
    }
    return true;
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
