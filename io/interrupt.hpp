#pragma once
// Ctrl-C (SIGINT) and SIGTERM during a long command.  While an InterruptWatch
// lives, the first such signal only records itself: the command looks at
// requested() between pieces of work (run: every 0.05 to 0.2 s of wall
// time), stops there, writes nothing that could pass for a complete result,
// and exits with exit_code() (128 + the signal: 130, 143), as a shell expects
// of a process a signal ended.  A second signal ends the process at once with
// that code, writing nothing more.  The watch restores the handlers it
// replaced when it ends.
//
// One watch at a time (the handler has nowhere else to look but one
// process-wide flag: a signal handler can reach no object).
#include <csignal>

namespace spikeem::io {

class InterruptWatch {
public:
    InterruptWatch();
    ~InterruptWatch();
    InterruptWatch(const InterruptWatch&) = delete;
    InterruptWatch& operator=(const InterruptWatch&) = delete;

    // The signal received (SIGINT or SIGTERM), or 0.
    int requested() const;
    // 128 + requested().
    int exit_code() const { return 128 + requested(); }
    // "SIGINT" or "SIGTERM".
    const char* name() const;

private:
    struct sigaction old_int_ {}, old_term_ {};
};

}  // namespace spikeem::io
