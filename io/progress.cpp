#include "io/progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <iostream>

namespace po = boost::program_options;

namespace spikeem::io {

std::string short_duration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) return "?";
    const long s = std::lround(seconds);
    if (s < 60) return fmt::format("{}s", s);
    if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
    return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
}

namespace {

double steady_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

ProgressSettings stderr_settings(ProgressMode mode) {
    ProgressSettings s;
    s.mode = mode;
    s.tty = ::isatty(STDERR_FILENO) != 0;
    return s;
}

// 12345, 72.3, 0.13: whole numbers from 100 on, else 3 significant digits.
std::string rate_text(double x) { return x >= 100 ? fmt::format("{:.0f}", x) : fmt::format("{:.3g}", x); }

}  // namespace

ProgressReporter::ProgressReporter(std::string command, double total, ProgressUnit unit, ProgressMode mode)
    : ProgressReporter(std::move(command), total, std::move(unit), stderr_settings(mode), std::cerr, steady_seconds) {}

ProgressReporter::ProgressReporter(std::string command, double total, ProgressUnit unit,
                                   const ProgressSettings& settings, std::ostream& out, ProgressClock clock)
    : command_(std::move(command)),
      total_(total),
      unit_(std::move(unit)),
      settings_(settings),
      out_(out),
      clock_(std::move(clock)),
      t0_(clock_()) {}

ProgressReporter::~ProgressReporter() {
    if (open_) {
        out_ << '\n';
        out_.flush();
    }
}

std::string ProgressReporter::line(double done, double elapsed_s, std::string_view detail) const {
    const double pct = total_ > 0 ? 100.0 * done / total_ : 100.0;
    const double per_s = elapsed_s > 0 ? done / elapsed_s : 0.0;  // units per wall second
    const std::string rate_name = unit_.rate_name.empty() ? unit_.name + "/s" : unit_.rate_name;
    const std::string eta = done >= total_ ? "0s" : per_s > 0 ? short_duration((total_ - done) / per_s) : "?";
    std::string s = fmt::format("spikeem {}: {}{:.{}f} of {:.{}f} {} ({:.0f}%), {} {}, ETA {}", command_,
                                part_.empty() ? "" : part_ + ", ", done, unit_.decimals, total_, unit_.decimals,
                                unit_.name, std::floor(pct), rate_text(unit_.rate_scale * per_s), rate_name, eta);
    if (!detail.empty()) s += fmt::format("; {}", detail);
    return s;
}

void ProgressReporter::print(double done, double elapsed_s, std::string_view detail, bool last) {
    const std::string s = line(done, elapsed_s, detail);
    if (settings_.tty) {
        // Blank what a longer previous line leaves to the right.
        const std::size_t pad = last_width_ > s.size() ? last_width_ - s.size() : 0;
        out_ << '\r' << s << std::string(pad, ' ');
        last_width_ = s.size();
        open_ = !last;
        if (last) out_ << '\n';
    } else {
        out_ << s << '\n';
    }
    out_.flush();
    printed_ = true;
    last_print_ = elapsed_s;
}

void ProgressReporter::update(double done, std::string_view detail) {
    if (settings_.mode == ProgressMode::Never || finished_) return;
    detail_ = detail;
    if (done >= total_) return;
    const double elapsed = clock_() - t0_;
    if (settings_.mode == ProgressMode::Auto && elapsed < settings_.delay_s) return;
    const double every = settings_.tty ? settings_.tty_every_s : settings_.line_every_s;
    if (printed_ && elapsed - last_print_ < every) return;
    print(done, elapsed, detail, false);
}

void ProgressReporter::finish(std::string_view detail) {
    if (settings_.mode == ProgressMode::Never || finished_) return;
    finished_ = true;
    if (printed_ || settings_.mode == ProgressMode::Always)
        print(total_, clock_() - t0_, detail.empty() ? std::string_view(detail_) : detail, true);
}

void ProgressReporter::suspend() {
    if (!open_) return;
    out_ << '\r' << std::string(last_width_, ' ') << '\r';
    out_.flush();
    open_ = false;
    last_width_ = 0;
    last_print_ = -1e300;  // redraw at the next update
}

ProgressCallback ProgressReporter::callback() {
    if (settings_.mode == ProgressMode::Never) return {};
    return [this](std::size_t done, std::size_t total) {
        total_ = static_cast<double>(total);
        update(static_cast<double>(done));
    };
}

void add_progress_options(po::options_description& d) {
    d.add_options()("quiet,q", "no progress lines on stderr")(
        "progress", "progress at once (default: after 2 s)");
}

ProgressMode progress_mode(const po::variables_map& vm) {
    if (vm.count("quiet")) return ProgressMode::Never;
    return vm.count("progress") ? ProgressMode::Always : ProgressMode::Auto;
}

}  // namespace spikeem::io
