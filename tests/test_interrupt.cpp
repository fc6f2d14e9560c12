// Ctrl-C and SIGTERM during `spikeem run`: the run stops between pieces, writes
// nothing into --out, saves its state in DIR.checkpoint, says so and how to
// resume, and exits 128 + the signal; with a second signal it still exits 130
// without output.  The resumed run writes the bytes of a run never stopped.  Whether the second one cut the stop short
// (its _exit) cannot be seen from outside: the first stops the run within a
// piece anyway.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "cli_helpers.hpp"

using namespace spikeem::test;

namespace {

struct Outcome {
    int exit_code = -1;     // -1: ended by a signal (not an exit)
    double seconds = 0.0;   // from the first signal to the end
    std::string err;        // stderr
};

// Starts a long run (10^5 ms of the CUBA benchmark) with --progress, waits for
// its first progress line (so that it is simulating, past loading and with its
// handlers installed), then sends `signals` 0.1 s apart.
Outcome interrupt_run(const fs::path& out, std::initializer_list<int> signals) {
    int pipe_fd[2];
    REQUIRE(::pipe(pipe_fd) == 0);
    const std::string spec = std::string(SPIKEEM_SOURCE_DIR) + "/examples/benchmarks/cuba_delta.pbtxt";
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::dup2(pipe_fd[1], 2);
        ::close(pipe_fd[0]);
        ::close(pipe_fd[1]);
        ::execl(SPIKEEM_BINARY, SPIKEEM_BINARY, "run", spec.c_str(), "--out", out.c_str(), "--duration-ms",
                "100000", "--progress", static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::close(pipe_fd[1]);
    Outcome o;
    char buf[4096];
    while (o.err.find("(0%)") == std::string::npos && o.err.find('%') == std::string::npos) {
        const ssize_t n = ::read(pipe_fd[0], buf, sizeof buf);
        if (n <= 0) break;
        o.err.append(buf, static_cast<std::size_t>(n));
    }
    const auto t0 = std::chrono::steady_clock::now();
    for (int s : signals) {
        ::kill(pid, s);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    for (ssize_t n; (n = ::read(pipe_fd[0], buf, sizeof buf)) > 0;) o.err.append(buf, static_cast<std::size_t>(n));
    ::close(pipe_fd[0]);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return o;
}

}  // namespace

TEST_CASE("run: SIGINT stops the run between pieces, writes nothing but its checkpoint and exits 130, and resume "
          "continues it") {
    const fs::path out = fresh_dir("interrupt_int");
    const fs::path ckpt = out.string() + ".checkpoint";
    const Outcome o = interrupt_run(out, {SIGINT});
    CAPTURE(o.err);
    CHECK(o.exit_code == 130);
    CHECK(o.seconds < 5.0);  // a piece is 0.2 s of wall time at most; 100 s simulated takes far longer
    CHECK(o.err.find("interrupted by SIGINT at t = ") != std::string::npos);
    CHECK(o.err.find("nothing was written") != std::string::npos);
    CHECK(o.err.find("continue with `spikeem resume " + out.string() + "`") != std::string::npos);
    CHECK(!fs::exists(out / "run.json"));
    CHECK(!fs::exists(out / "spikes.csv"));
    REQUIRE(fs::exists(ckpt));

    // Resumed up to 50 ms past the interruption, it equals a run of that length.
    const std::size_t at = o.err.find("at t = ") + 7;
    const double stopped_ms = std::stod(o.err.substr(at));
    const std::string until = std::to_string(stopped_ms + 50.0);
    const Result resumed = sh("resume " + out.string() + " -q --duration-ms " + until);
    CHECK_MESSAGE(resumed.status == 0, resumed.out);
    const fs::path plain = fresh_dir("interrupt_plain");
    REQUIRE(sh("run " + std::string(SPIKEEM_SOURCE_DIR) + "/examples/benchmarks/cuba_delta.pbtxt --out " +
               plain.string() + " -q --duration-ms " + until)
                .status == 0);
    CHECK(folder_bytes(out) == folder_bytes(plain));
    CHECK(!fs::exists(ckpt));  // the run is complete
    fs::remove_all(out);
    fs::remove_all(plain);
}

TEST_CASE("run: SIGTERM exits 143, and two SIGINTs exit 130 without output") {
    const fs::path out = fresh_dir("interrupt_term");
    const Outcome o = interrupt_run(out, {SIGTERM});
    CAPTURE(o.err);
    CHECK(o.exit_code == 143);
    CHECK(!fs::exists(out / "run.json"));
    const fs::path out2 = fresh_dir("interrupt_twice");
    const Outcome twice = interrupt_run(out2, {SIGINT, SIGINT});
    CHECK(twice.exit_code == 130);
    CHECK(!fs::exists(out2 / "run.json"));
    for (const fs::path& p : {out, out2}) {
        fs::remove_all(p);
        fs::remove_all(p.string() + ".checkpoint");
    }
}
