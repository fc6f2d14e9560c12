#include "io/interrupt.hpp"

#include <unistd.h>

#include <stdexcept>

namespace spikeem::io {

namespace {
// The one piece of process-wide state: a signal handler can reach nothing
// else.  0 while no watch has seen a signal.
volatile std::sig_atomic_t g_signal = 0;
volatile std::sig_atomic_t g_watching = 0;

extern "C" void on_signal(int s) {
    if (g_signal != 0) ::_exit(128 + g_signal);  // the second one: now
    g_signal = s;
}
}  // namespace

InterruptWatch::InterruptWatch() {
    if (g_watching) throw std::logic_error("InterruptWatch: one at a time");
    g_watching = 1;
    g_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;  // reads and writes in progress go on; the command looks between pieces
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
}

InterruptWatch::~InterruptWatch() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
    g_watching = 0;
}

int InterruptWatch::requested() const { return g_signal; }

const char* InterruptWatch::name() const { return g_signal == SIGTERM ? "SIGTERM" : "SIGINT"; }

}  // namespace spikeem::io
