// The drift identity with a window whose integral is zero: pair STDP then
// drifts at r_pre dr_post/dt int tau K, the rate form of Eq. 1, and nothing
// else.  The default windows make r_post int K dominate and leave this term
// barely resolved; here it is the whole signal.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "experiments/drift.hpp"

using namespace spikeem;

TEST_CASE("drift: the zero-integral window has A+ tau+ = A- tau-, and the identity keeps only the ramp term") {
    const PairStdpParams rule{0.01, 0.0105, 16.8, 33.7, Pairing::AllToAll};
    const PairStdpParams z = zero_integral_window(rule);
    CHECK(z.a_plus_mV == rule.a_plus_mV);
    CHECK(z.tau_plus_ms == rule.tau_plus_ms);
    CHECK(z.tau_minus_ms == rule.tau_minus_ms);
    CHECK(z.a_minus_mV * z.tau_minus_ms == doctest::Approx(z.a_plus_mV * z.tau_plus_ms).epsilon(1e-15));
    // int tau K = A+ tau+^2 + A- tau-^2 = A+ tau+ (tau+ + tau-), in mV s^2.
    const double int_tau_k = 0.01 * 0.0168 * (0.0168 + 0.0337);
    CHECK(identity_drift(z, 20, 30, 0.0) == doctest::Approx(0.0).epsilon(1e-12));
    CHECK(identity_drift(z, 20, 30, 4.0) == doctest::Approx(20 * 4.0 * int_tau_k).epsilon(1e-12));
    // The default window of `spikeem drift` (A- = 1.05 A+, tau 20 ms), with the rates and the
    // steepest ramp below: the r_post int K term is 9 times the ramp term, which it hides.
    const PairStdpParams d{0.01, 0.0105, 20.0, 20.0, Pairing::AllToAll};
    const double ramp = 20 * 50.0 / 12.0 * (0.01 + 0.0105) * 0.02 * 0.02;
    CHECK(std::abs(identity_drift(d, 20, 30, 0.0)) > 8 * ramp);

    DriftOptions o;
    o.duration_ms = 10000.0;
    const auto cases = zero_integral_cases(o);
    REQUIRE(cases.size() == 2);
    for (const auto& c : cases) {
        CHECK(c.pairing == Pairing::AllToAll);
        CHECK(c.r_pre_hz == 20.0);
        // 5 -> 55 Hz or 55 -> 5 Hz over the whole run, margins included.
        CHECK(c.r_post_hz + c.r_post_slope_hz_per_s * 12.0 == doctest::Approx(c.r_post_slope_hz_per_s > 0 ? 55 : 5));
    }
}

TEST_CASE("drift: with int K = 0 the Eq. 1 term is resolved and equals r_pre dr_post/dt int tau K") {
    // A small version of the zero-integral part of `spikeem drift`: 50 x 50
    // synapses, 10 s, 12 seeds; the post rate ramps over 5-55 Hz at
    // +-4.17 Hz/s, so the term is 20 x 4.17 x 8e-6 = 6.7e-4 mV/s.  The spread of
    // one seed's drift, measured over 96 seeds, is 2.3e-4 mV/s (as predicted by
    // sqrt(r_pre r_post int K^2 / T) / 50 = 2.2e-4), so the standard error of 12
    // seeds is 6.5e-5 mV/s and the term about 10 standard errors: requiring more
    // than 5 leaves room for the spread of the standard error itself (11 degrees
    // of freedom).  Agreement with the identity: |z| < 4, t with 11 degrees of
    // freedom, alpha ~ 0.002 per case.
    DriftOptions o;
    o.rule = zero_integral_window(PairStdpParams{0.01, 0.0105, 20.0, 20.0, Pairing::AllToAll});
    o.pre_neurons = o.post_neurons = 50;
    o.duration_ms = 10000.0;
    o.seeds = 12;
    const auto rows = measure_drift(o, zero_integral_cases(o));
    REQUIRE(rows.size() == 2);
    for (const auto& r : rows) {
        CAPTURE(r.c.r_post_slope_hz_per_s);
        CAPTURE(r.measured_mV_per_s);
        CAPTURE(r.sem_mV_per_s);
        CAPTURE(r.identity_mV_per_s);
        CAPTURE(r.expected_mV_per_s);
        const double sign = r.c.r_post_slope_hz_per_s > 0 ? 1.0 : -1.0;
        CHECK(sign * r.measured_mV_per_s > 5.0 * r.sem_mV_per_s);
        CHECK(std::abs(r.measured_mV_per_s - r.identity_mV_per_s) < 4.0 * r.sem_mV_per_s);
        CHECK(std::abs(r.measured_mV_per_s - r.expected_mV_per_s) < 4.0 * r.sem_mV_per_s);
        // The identity and the exact expectation agree (the ramp is slow against tau).
        CHECK(r.identity_mV_per_s == doctest::Approx(r.expected_mV_per_s).epsilon(0.02));
    }
}

TEST_CASE("spikeem drift writes drift_zero_integral.csv next to drift.csv") {
    namespace fs = std::filesystem;
    const fs::path d = fs::temp_directory_path() / ("spikeem_drift_zero_" + std::to_string(::getpid()));
    auto run = [&](const std::string& options) {
        const std::string cmd = std::string(SPIKEEM_BINARY) + " drift --seeds 2 --duration-ms 2000 --neurons 10 " +
                                options + " --out " + d.string() + " > /dev/null 2>&1";
        const int rc = std::system(cmd.c_str());
        return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    };
    REQUIRE(run("--zero-integral-seeds 3 --tau-minus-ms 40") == 0);
    CHECK(fs::exists(d / "drift.csv"));
    std::ifstream in(d / "drift_zero_integral.csv");
    std::string line;
    std::getline(in, line);
    CHECK(line ==
          "pairing,a_plus_mV,a_minus_mV,tau_plus_ms,tau_minus_ms,r_pre_hz,r_post_hz,r_post_slope_hz_per_s,seeds,"
          "measured_mV_per_s,sem_mV_per_s,identity_mV_per_s,expected_mV_per_s,z_resolved,z_identity");
    int rows = 0;
    while (std::getline(in, line)) {
        ++rows;
        // A- = A+ tau+ / tau- = 0.01 x 20 / 40; 3 seeds.
        CHECK(line.rfind("all_to_all,0.01,0.005,20,40,20,", 0) == 0);
        CHECK(line.find(",3,") != std::string::npos);
    }
    CHECK(rows == 2);
    fs::remove_all(d);
    CHECK(run("--zero-integral-seeds 1") == 2);
}
