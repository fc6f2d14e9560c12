#pragma once
// Progress lines on stderr for the commands that can take more than a couple
// of seconds, one format for all:
//   spikeem CMD: [PART, ]<done> of <total> <unit> (<pct>%), <rate>, ETA <1m05s>[; DETAIL]
// On a terminal one line redrawn in place (\r), otherwise a line every few
// seconds; nothing before the work has taken 2 s (ProgressMode::Auto), from the
// start (Always, --progress) or never (Never, -q).  The clock is read here and
// only here: experiment drivers report units of work done through a callback
// (ProgressCallback) and never see the time.
#include <boost/program_options.hpp>

#include <cstddef>
#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>

namespace spikeem::io {

enum class ProgressMode { Never, Auto, Always };  // -q, the default, --progress

// What is counted: "runs", "trials", "ms" ...  The rate shown is
// rate_scale * done / wall s, named "<unit>/s" unless rate_name is given.
struct ProgressUnit {
    std::string name;
    int decimals = 0;           // of done and total
    std::string rate_name;      // e.g. "simulated s per wall s"; "" : name + "/s"
    double rate_scale = 1.0;

    static ProgressUnit count(std::string name) { return {std::move(name), 0, "", 1.0}; }
    // Simulated milliseconds, the rate in simulated seconds per wall second.
    static ProgressUnit simulated_ms() { return {"ms", 1, "simulated s per wall s", 1e-3}; }
};

// When and how lines are printed.  A line is printed by update() only when the
// mode allows it (Auto: once delay_s has passed since construction) and the
// previous one is at least every_s old (tty_every_s on a terminal, line_every_s
// otherwise); finish() prints the 100 % line if any line was printed or the mode
// is Always.
struct ProgressSettings {
    ProgressMode mode = ProgressMode::Auto;
    bool tty = false;  // redraw one line with \r instead of printing lines
    double delay_s = 2.0;
    double tty_every_s = 1.0;
    double line_every_s = 5.0;
};

// Seconds from any fixed origin, non-decreasing.
using ProgressClock = std::function<double()>;

// The callback experiment drivers take: units done so far, of total.
using ProgressCallback = std::function<void(std::size_t done, std::size_t total)>;

// "1m05s"-style durations ("?" for a negative or non-finite one).
std::string short_duration(double seconds);

class ProgressReporter {
public:
    // On stderr, with the steady clock; tty when stderr is a terminal.
    ProgressReporter(std::string command, double total, ProgressUnit unit, ProgressMode mode);
    // The output, the terminal question and the clock given (tests).
    ProgressReporter(std::string command, double total, ProgressUnit unit, const ProgressSettings& settings,
                     std::ostream& out, ProgressClock clock);
    ProgressReporter(const ProgressReporter&) = delete;
    ProgressReporter& operator=(const ProgressReporter&) = delete;
    // Ends a line left open on a terminal (an exception mid-way) with its newline.
    ~ProgressReporter();

    // The part of the command now running, shown before the count ("" : none).
    void set_part(std::string part) { part_ = std::move(part); }
    void set_total(double total) { total_ = total; }
    // `done` units of total are done; `detail` is appended after "; ".  Calls
    // must not overlap (drivers with worker threads serialise them).
    void update(double done, std::string_view detail = {});
    // The work is done: the 100 % line when anything was shown (or Always),
    // with `detail` or else the last update's.  Later updates print nothing.
    void finish(std::string_view detail = {});
    // Blanks a line open on a terminal, so that other output can follow on a
    // clean line; the next update draws it again.
    void suspend();
    // update(done) with the total the driver gives; empty when the mode is
    // Never, so that a driver does no progress work at all.  The reporter must
    // outlive the callback's use.
    ProgressCallback callback();

    bool shown() const { return printed_; }

private:
    std::string line(double done, double elapsed_s, std::string_view detail) const;
    void print(double done, double elapsed_s, std::string_view detail, bool last);

    std::string command_, part_, detail_;
    double total_;
    ProgressUnit unit_;
    ProgressSettings settings_;
    std::ostream& out_;
    ProgressClock clock_;
    double t0_;
    double last_print_ = 0.0;
    std::size_t last_width_ = 0;  // of the line on a terminal, to blank a longer previous one
    bool printed_ = false, open_ = false, finished_ = false;
};

// -q/--quiet and --progress, with the same text in every command's --help.
void add_progress_options(boost::program_options::options_description& d);
// Never with -q (it wins), Always with --progress, else Auto.
ProgressMode progress_mode(const boost::program_options::variables_map& vm);

}  // namespace spikeem::io
