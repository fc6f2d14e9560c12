// The run section: time resolution, duration and seed.
#include <fmt/format.h>

#include <cmath>

#include "io/loader/sections.hpp"

namespace spikeem::io::loader {

std::string resolution_label(const TimeBase& time) { return fmt::format("the resolution {}", num(time.resolution_ms())); }

TimeBase load_run(const proto::Run& run, const Node& rn, const SpecOverrides& o, Validator& v, RunSpec& out) {
    int digits = 6;
    if (run.has_resolution_ns()) {
        double r = run.resolution_ns();
        double l = std::isfinite(r) && r > 0 ? std::log10(r) : NAN;
        if (!std::isfinite(l) || std::abs(l - std::round(l)) > 1e-9 || std::round(l) < -3 || std::round(l) > 6)
            v.fail(rn, "resolution_ns", num(r), "must be a power of ten from 0.001 to 1000000 (ns)");
        else
            digits = 6 - static_cast<int>(std::round(l));
    }
    out.time_digits = digits;
    TimeBase time(digits);
    if (run.has_duration_ms()) {
        double d = run.duration_ms();
        Node rd = rn;  // a value from --duration-ms has no place in the file
        if (o.duration_ms) rd = Node{&run, nullptr, "(--duration-ms) run"};
        v.positive(rd, "duration_ms", d, "ms");
        // A run shorter than one tick simulates nothing, yet would write a complete-looking 0 ms run.
        if (std::isfinite(d) && d > 0.0 && time.round(d) < 1)
            v.fail(rd, "duration_ms", num(d),
                   fmt::format("must be at least {} (one tick; ms)", resolution_label(time)));
        // Ticks are signed 64-bit: the run's end must stay well inside them.
        if (std::isfinite(d) && d * static_cast<double>(time.ticks_per_ms()) > 4.0e18)
            v.fail(rd, "duration_ms", num(d),
                   fmt::format("too long for the resolution {} ns (at most {} ms)", time.resolution_ns(),
                               num(4.0e18 / static_cast<double>(time.ticks_per_ms()))));
        out.duration_ms = d;
    }
    if (run.has_seed()) out.seed = run.seed();
    return time;
}

}  // namespace spikeem::io::loader
