// The progress reporter (io/progress.hpp) with an injected clock and stream:
// the line format, percent, rate and ETA, when lines appear (the 2 s delay,
// --progress, -q) and the cadence on a terminal and off it.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "io/progress.hpp"

using spikeem::io::ProgressMode;
using spikeem::io::ProgressReporter;
using spikeem::io::ProgressSettings;
using spikeem::io::ProgressUnit;
using spikeem::io::short_duration;

namespace {

// A reporter on a string stream whose clock is `now` (seconds), set by the test.
struct Fixture {
    std::ostringstream out;
    double now = 100.0;  // any origin: the reporter measures from its construction
    ProgressSettings settings;

    explicit Fixture(ProgressMode mode, bool tty = false) {
        settings.mode = mode;
        settings.tty = tty;
    }
    ProgressReporter make(const char* command, double total, ProgressUnit unit) {
        return ProgressReporter(command, total, std::move(unit), settings, out, [this] { return now; });
    }
};

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> v;
    std::stringstream ss(text);
    for (std::string line; std::getline(ss, line);) v.push_back(line);
    return v;
}

}  // namespace

TEST_CASE("short_duration: seconds, minutes with seconds, hours with minutes") {
    CHECK(short_duration(0.0) == "0s");
    CHECK(short_duration(59.4) == "59s");
    CHECK(short_duration(65.0) == "1m05s");
    CHECK(short_duration(3599.0) == "59m59s");
    CHECK(short_duration(3600.0 + 120.0) == "1h02m");
    CHECK(short_duration(-1.0) == "?");
    CHECK(short_duration(std::numeric_limits<double>::quiet_NaN()) == "?");
    CHECK(short_duration(std::numeric_limits<double>::infinity()) == "?");
}

TEST_CASE("a progress line: done of total, percent, rate per wall second, ETA, then the 100 % line") {
    Fixture f(ProgressMode::Always);
    {
        ProgressReporter p = f.make("drift", 200, ProgressUnit::count("runs"));
        f.now += 10.0;
        p.update(50);  // 5 runs/s; 150 left: 30 s
        f.now += 30.0;
        p.finish();  // 200 in 40 s
    }
    CHECK(f.out.str() ==
          "spikeem drift: 50 of 200 runs (25%), 5 runs/s, ETA 30s\n"
          "spikeem drift: 200 of 200 runs (100%), 5 runs/s, ETA 0s\n");
}

TEST_CASE("simulated time: ms with one decimal, the rate in simulated s per wall s") {
    Fixture f(ProgressMode::Always);
    ProgressReporter p = f.make("run", 5000.0, ProgressUnit::simulated_ms());
    f.now += 4.0;
    p.update(1000.0);  // 1 simulated s in 4 wall s; 4 s left at 0.25: 16 s
    CHECK(f.out.str() == "spikeem run: 1000.0 of 5000.0 ms (20%), 0.25 simulated s per wall s, ETA 16s\n");
}

TEST_CASE("the percent is rounded down (100 % only when done), rates from 100 on are whole, ETA ? before any progress") {
    Fixture f(ProgressMode::Always);
    ProgressReporter p = f.make("bench", 2000, ProgressUnit::count("runs"));
    p.update(0);  // no time has passed, nothing done: no rate, no ETA
    f.now += 5.0;
    p.update(1990);  // 398/s (whole), 99.5 % shown as 99 %; 10 left: 0.025 s rounds to 0s
    CHECK(f.out.str() ==
          "spikeem bench: 0 of 2000 runs (0%), 0 runs/s, ETA ?\n"
          "spikeem bench: 1990 of 2000 runs (99%), 398 runs/s, ETA 0s\n");
}

TEST_CASE("part and detail: the part before the count, the detail after it - finish repeats the last detail") {
    Fixture f(ProgressMode::Always);
    ProgressReporter p = f.make("em-train", 1000, ProgressUnit::count("examples"));
    p.set_part("epoch 1");
    f.now += 2.0;
    p.update(100, "loss 0.5");  // 50/s, 900 left: 18 s
    f.now += 10.0;
    p.update(600, "loss 0.25");  // 10 s after the last line: shown
    p.finish();
    const auto l = lines(f.out.str());
    REQUIRE(l.size() == 3);
    CHECK(l[0] == "spikeem em-train: epoch 1, 100 of 1000 examples (10%), 50 examples/s, ETA 18s; loss 0.5");
    CHECK(l[1] == "spikeem em-train: epoch 1, 600 of 1000 examples (60%), 50 examples/s, ETA 8s; loss 0.25");
    CHECK(l[2] == "spikeem em-train: epoch 1, 1000 of 1000 examples (100%), 83.3 examples/s, ETA 0s; loss 0.25");
}

TEST_CASE("Auto: nothing before 2 s - a job that ends before then prints nothing at all") {
    Fixture f(ProgressMode::Auto);
    {
        ProgressReporter quick = f.make("stdp-curve", 10, ProgressUnit::count("runs"));
        f.now += 1.75;
        quick.update(9);
        quick.finish();
    }
    CHECK(f.out.str().empty());

    ProgressReporter slow = f.make("stdp-curve", 10, ProgressUnit::count("runs"));
    f.now += 1.5;
    slow.update(1);
    CHECK(f.out.str().empty());
    f.now += 0.5;  // 2 s: shown
    slow.update(2);
    CHECK(f.out.str() == "spikeem stdp-curve: 2 of 10 runs (20%), 1 runs/s, ETA 8s\n");
    slow.finish();
    CHECK(lines(f.out.str()).size() == 2);
    CHECK(lines(f.out.str()).back().find("10 of 10 runs (100%)") != std::string::npos);
}

TEST_CASE("Never (-q): no output, no callback, nothing at finish") {
    Fixture f(ProgressMode::Never);
    ProgressReporter p = f.make("gradcheck", 10, ProgressUnit::count("cycles"));
    CHECK(!p.callback());
    f.now += 100.0;
    p.update(5);
    p.finish();
    CHECK(f.out.str().empty());
    CHECK(!p.shown());
}

TEST_CASE("off a terminal: a line at most every 5 s, each ending in a newline") {
    Fixture f(ProgressMode::Auto);
    ProgressReporter p = f.make("drift", 1000, ProgressUnit::count("runs"));
    // One update every 1/8 s for 20 s: lines at 2, 7, 12 and 17 s (updates 16, 56, 96, 136).
    for (int k = 1; k <= 160; ++k) {
        f.now += 0.125;
        p.update(k);
    }
    const std::string text = f.out.str();
    CHECK(text.find('\r') == std::string::npos);
    const auto l = lines(text);
    REQUIRE(l.size() == 4);
    CHECK(l[0].rfind("spikeem drift: 16 of 1000 runs", 0) == 0);
    CHECK(l[1].rfind("spikeem drift: 56 of 1000 runs", 0) == 0);
    CHECK(l[2].rfind("spikeem drift: 96 of 1000 runs", 0) == 0);
    CHECK(l[3].rfind("spikeem drift: 136 of 1000 runs", 0) == 0);
}

TEST_CASE("on a terminal: one line redrawn (carriage return) at most every second, blanking a longer one - newline at the end") {
    Fixture f(ProgressMode::Always, true);
    ProgressReporter p = f.make("run", 100000, ProgressUnit::count("steps"));
    f.now += 1.0;
    p.update(50000);  // "...50000 of 100000 steps (50%), 50000 steps/s, ETA 1s"
    const std::string first = f.out.str();
    CHECK(first == "\rspikeem run: 50000 of 100000 steps (50%), 50000 steps/s, ETA 1s");
    f.now += 0.5;
    p.update(60000);  // within 1 s of the last: not drawn
    CHECK(f.out.str() == first);
    f.now += 8.5;
    p.update(60000);  // 10 s: 6000 steps/s, ETA 40000 / 6000 s; one character shorter than the last
    const std::string second = f.out.str().substr(first.size());
    CHECK(second == "\rspikeem run: 60000 of 100000 steps (60%), 6000 steps/s, ETA 7s ");
    CHECK(second.size() == first.size());
    CHECK(f.out.str().find('\n') == std::string::npos);
    p.finish();
    const std::string all = f.out.str();
    CHECK(all.back() == '\n');
    CHECK(all.find("\rspikeem run: 100000 of 100000 steps (100%)") != std::string::npos);
}

TEST_CASE("on a terminal: suspend blanks the open line - the destructor ends a line left open") {
    Fixture f(ProgressMode::Always, true);
    {
        ProgressReporter p = f.make("bench", 4, ProgressUnit::count("runs"));
        f.now += 1.0;
        p.update(1);
        const std::size_t width = f.out.str().size() - 1;  // without the \r
        p.suspend();
        std::string blank(width + 2, ' ');
        blank.front() = blank.back() = '\r';
        CHECK(f.out.str().substr(width + 1) == blank);
        f.out.str("");
        f.now += 0.1;  // redrawn at once after a suspend
        p.update(2);
        CHECK(f.out.str().rfind("\rspikeem bench: 2 of 4 runs (50%)", 0) == 0);
        f.out.str("");
    }  // an exception would leave the line open: the destructor ends it
    CHECK(f.out.str() == "\n");
}

TEST_CASE("the callback sets the total the driver gives and updates - later updates after finish print nothing") {
    Fixture f(ProgressMode::Always);
    ProgressReporter p = f.make("gradcheck", 0, ProgressUnit::count("cycles"));
    const auto cb = p.callback();
    REQUIRE(cb);
    f.now += 2.0;
    cb(10, 40);  // 5 cycles/s, 30 left: 6 s
    CHECK(f.out.str() == "spikeem gradcheck: 10 of 40 cycles (25%), 5 cycles/s, ETA 6s\n");
    p.finish();
    const std::string done = f.out.str();
    CHECK(lines(done).back() == "spikeem gradcheck: 40 of 40 cycles (100%), 20 cycles/s, ETA 0s");
    f.now += 10.0;
    cb(40, 40);
    p.update(20);
    p.finish();
    CHECK(f.out.str() == done);
}
