#pragma once
// Simulation time.  The scheduler counts integer ticks so that event order and
// delays are exact; neuron dynamics convert to double milliseconds locally.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

namespace spikeem {

using Tick = std::int64_t;
inline constexpr Tick kNever = std::numeric_limits<Tick>::max();

// Resolution of the scheduler: 1 tick = 10^-digits ms (digits in [0, 9], so
// 1 ms down to 1 ps).  A power of ten keeps every tick printable exactly as a
// decimal number of milliseconds.
class TimeBase {
public:
    explicit TimeBase(int decimal_digits = 6) : digits_(decimal_digits) {
        ticks_per_ms_ = 1;
        for (int i = 0; i < digits_; ++i) ticks_per_ms_ *= 10;
        ms_per_tick_ = 1.0 / static_cast<double>(ticks_per_ms_);
    }
    int digits() const { return digits_; }
    Tick ticks_per_ms() const { return ticks_per_ms_; }
    double resolution_ms() const { return ms_per_tick_; }
    double resolution_ns() const { return ms_per_tick_ * 1e6; }

    // The largest time the tick can count, in ms (kNever ticks).  Times and
    // durations must stay well below it, as the engine adds them together.
    double max_ms() const { return static_cast<double>(kNever) * ms_per_tick_; }

    double to_ms(Tick t) const { return static_cast<double>(t) * ms_per_tick_; }
    // Nearest tick; used for delays and externally given times.
    Tick round(double ms) const { return static_cast<Tick>(std::llround(ms * static_cast<double>(ticks_per_ms_))); }
    // round() for 0 <= ms < max_ms(), inline (no library call): the same
    // tick, since x - trunc(x) is exact for such x and halves go up as with
    // llround.  For the inner loops that round every Poisson arrival.
    Tick round_nonneg(double ms) const {
        const double x = ms * static_cast<double>(ticks_per_ms_);
        const auto t = static_cast<Tick>(x);  // truncates
        return x - static_cast<double>(t) >= 0.5 ? t + 1 : t;
    }
    // First tick at or after ms; used for predicted threshold crossings so
    // that the state at the returned tick is past the threshold.
    Tick ceil(double ms) const {
        double x = std::ceil(ms * static_cast<double>(ticks_per_ms_));
        if (x >= 9.0e18) return kNever;
        return static_cast<Tick>(x);
    }
    // Exact decimal rendering of a tick in ms, e.g. "12.500125".  Trailing
    // zeros are kept so that columns line up and output is byte-stable.
    std::string format_ms(Tick t) const {
        std::string s;
        bool neg = t < 0;
        std::uint64_t u = neg ? static_cast<std::uint64_t>(-(t + 1)) + 1 : static_cast<std::uint64_t>(t);
        std::uint64_t whole = u / static_cast<std::uint64_t>(ticks_per_ms_);
        std::uint64_t frac = u % static_cast<std::uint64_t>(ticks_per_ms_);
        s = std::to_string(whole);
        if (digits_ > 0) {
            std::string f = std::to_string(frac);
            s += '.';
            s.append(static_cast<std::size_t>(digits_) - f.size(), '0');
            s += f;
        }
        return neg ? "-" + s : s;
    }

private:
    int digits_;
    Tick ticks_per_ms_;
    double ms_per_tick_;
};

}  // namespace spikeem
