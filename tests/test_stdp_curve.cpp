// The pairing protocols on the full simulator, against closed forms.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "experiments/protocols.hpp"
#include "plasticity/presets.hpp"

using namespace spikeem;
namespace fs = std::filesystem;

namespace {

PairingProtocol pair_protocol(Pairing pairing = Pairing::AllToAll) {
    PairingProtocol p;
    p.rule.rule = PairStdpParams{0.01, 0.005, 16.8, 33.7, pairing};
    p.rule.w_min_mV = -1e9;  // far away: additive and unbounded in effect
    return p;
}

// All-to-all pair STDP over the protocol's exact spike pattern: pre arrivals
// a_k = t0 + k T, post arrivals a_k + dt; every pre/post pair contributes
// (pre-first at equal times, so dt = 0 is potentiation).
double closed_form_all_pairs(const PairingProtocol& p, double dt) {
    const auto& r = std::get<PairStdpParams>(p.rule.rule);
    const double T = 1000.0 / p.frequency_hz;
    double dw = 0.0;
    for (int i = 0; i < p.pairings; ++i)
        for (int j = 0; j < p.pairings; ++j) {
            const double s = (j - i) * T + dt;  // post j minus pre i
            dw += s >= 0 ? r.a_plus_mV * std::exp(-s / r.tau_plus_ms) : -r.a_minus_mV * std::exp(s / r.tau_minus_ms);
        }
    return dw;
}

}  // namespace

TEST_CASE("stdp curve: pair STDP from the pairing protocol equals the closed-form window at every dt") {
    PairingProtocol p = pair_protocol();
    std::vector<double> dts;
    for (int k = -100; k <= 100; ++k) dts.push_back(k);
    auto results = run_pairings(p, dts, {1.0});
    REQUIRE(results.size() == dts.size());
    double worst = 0.0;
    for (const auto& r : results) {
        CHECK(r.post_spikes == 60);
        worst = std::max(worst, std::abs(r.dw_mV - closed_form_all_pairs(p, r.dt_ms)));
    }
    // Differences come from summation order and the ns rounding of times only.
    CHECK(worst < 1e-12);
    // And the window itself: 60 pairs at 1 Hz barely interact (exp(-1000/33.7) ~ 1e-13).
    CHECK(results[101].dw_mV == doctest::Approx(60 * 0.01 * std::exp(-1 / 16.8)).epsilon(1e-10));
    CHECK(results[99].dw_mV == doctest::Approx(-60 * 0.005 * std::exp(-1 / 33.7)).epsilon(1e-10));
    CHECK(results[100].dw_mV == doctest::Approx(60 * 0.01).epsilon(1e-10));  // dt = 0: potentiation by policy
}

TEST_CASE("stdp curve: results do not depend on the order or number of parallel runs") {
    PairingProtocol p = pair_protocol(Pairing::NearestPresynapticCentred);
    auto all = run_pairings(p, {-30, -3, 0, 3, 30}, {1.0, 20.0});
    for (std::size_t i = 0; i < all.size(); ++i) {
        PairingProtocol q = p;
        q.frequency_hz = all[i].frequency_hz;
        CHECK(run_pairing(q, all[i].dt_ms).dw_mV == all[i].dw_mV);
    }
}

TEST_CASE("spikeem stdp-curve writes the curve and gives identical output for 1 and 2 threads") {
    auto run = [](const std::string& dir, int threads) {
        std::string cmd = std::string(SPIKEEM_BINARY) + " stdp-curve --no-plot --dt-step-ms 5 --threads " +
                          std::to_string(threads) + " --out " + dir + " > /dev/null 2>&1";
        int rc = std::system(cmd.c_str());
        return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    };
    fs::path a = fs::temp_directory_path() / ("spikeem_curve_a_" + std::to_string(::getpid()));
    fs::path b = fs::temp_directory_path() / ("spikeem_curve_b_" + std::to_string(::getpid()));
    REQUIRE(run(a.string(), 1) == 0);
    REQUIRE(run(b.string(), 2) == 0);
    auto slurp = [](const fs::path& f) {
        std::ifstream in(f);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    };
    const std::string csv = slurp(a / "stdp_curve.csv");
    CHECK(csv == slurp(b / "stdp_curve.csv"));
    std::stringstream in(csv);
    std::string line;
    std::getline(in, line);
    CHECK(line == "dt_ms,dw,dw_rel");
    PairingProtocol p = pair_protocol();
    int rows = 0;
    while (std::getline(in, line)) {
        double dt = 0, dw = 0, rel = 0;
        REQUIRE(std::sscanf(line.c_str(), "%lf,%lf,%lf", &dt, &dw, &rel) == 3);
        // The CLI's defaults are the pair rule above with w_min = 0 (never reached here).
        CHECK(std::abs(dw - closed_form_all_pairs(p, dt)) < 1e-12);
        CHECK(rel == doctest::Approx(dw).epsilon(1e-12));  // w0 = 1 mV
        ++rows;
    }
    CHECK(rows == 41);
    fs::remove_all(a);
    fs::remove_all(b);
}

TEST_CASE("spikeem stdp-curve takes the rule and bounds of a spec and starts inside the bounds") {
    fs::path d = fs::temp_directory_path() / ("spikeem_curve_spec_" + std::to_string(::getpid()));
    const std::string cmd = std::string(SPIKEEM_BINARY) + " stdp-curve --no-plot --dt-step-ms 50 --spec " +
                            SPIKEEM_SOURCE_DIR + "/examples/song2000/song2000.pbtxt --out " + d.string() +
                            " > /dev/null 2>&1";
    const int rc = std::system(cmd.c_str());
    REQUIRE(WIFEXITED(rc));
    CHECK(WEXITSTATUS(rc) == 0);
    std::ifstream in(d / "stdp_curve.csv");
    std::string header, first;
    std::getline(in, header);
    std::getline(in, first);
    double dt = 0, dw = 0, rel = 0;
    REQUIRE(std::sscanf(first.c_str(), "%lf,%lf,%lf", &dt, &dw, &rel) == 3);
    // Song's rule: A- = 0.00118125 mV, tau- = 20 ms; w0 = 0.1125 mV (the middle of [0, 0.225]).
    CHECK(dt == -100.0);
    CHECK(dw == doctest::Approx(-60 * 0.00118125 * std::exp(-100.0 / 20.0)).epsilon(1e-9));
    CHECK(rel == doctest::Approx(dw / 0.1125).epsilon(1e-12));
    fs::remove_all(d);
}

TEST_CASE("spikeem stdp-curve --spec refuses a spec without a spike-pair rule with exit 2 and writes nothing") {
    fs::path d = fs::temp_directory_path() / ("spikeem_curve_voltage_" + std::to_string(::getpid()));
    const fs::path msg = d.string() + ".txt";
    const std::string cmd = std::string(SPIKEEM_BINARY) + " stdp-curve --no-plot --spec " + SPIKEEM_SOURCE_DIR +
                            "/examples/gradient_alignment/supervised.pbtxt --out " + d.string() + " > " +
                            msg.string() + " 2>&1";
    const int rc = std::system(cmd.c_str());
    REQUIRE(WIFEXITED(rc));
    CHECK(WEXITSTATUS(rc) == 2);
    std::ifstream in(msg);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(text.find("no projection has a pair_stdp or triplet_stdp rule") != std::string::npos);
    CHECK(!fs::exists(d));
    fs::remove(msg);
}

TEST_CASE("spikeem stdp-curve --preset all: the frequency protocol for every triplet preset in one table") {
    fs::path d = fs::temp_directory_path() / ("spikeem_curve_presets_" + std::to_string(::getpid()));
    auto run = [&](const std::string& options) {
        const std::string cmd = std::string(SPIKEEM_BINARY) + " stdp-curve --no-plot --rule triplet --preset all " +
                                options + " --out " + d.string() + " > /dev/null 2>&1";
        const int rc = std::system(cmd.c_str());
        return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    };
    REQUIRE(run("--protocol frequency --frequencies-hz 1,50") == 0);
    std::ifstream in(d / "stdp_frequency_presets.csv");
    std::string line;
    std::getline(in, line);
    CHECK(line == "preset,frequency_hz,dt_ms,dw,dw_rel");
    std::vector<std::string> rows;
    while (std::getline(in, line)) rows.push_back(line);
    REQUIRE(rows.size() == triplet_presets().size() * 4);  // 2 frequencies x dt = -10, +10 ms
    for (std::size_t k = 0; k < triplet_presets().size(); ++k) {
        const TripletPreset& preset = triplet_presets()[k];
        PairingProtocol p;
        p.rule.rule = preset.params;
        p.rule.w_min_mV = 0.0;  // the command's default bound
        const auto expected = run_pairings(p, {-10.0, 10.0}, {1.0, 50.0});
        for (std::size_t i = 0; i < 4; ++i) {
            const std::string& row = rows[4 * k + i];
            CAPTURE(row);
            REQUIRE(row.rfind(preset.name + ",", 0) == 0);
            double f = 0, dt = 0, dw = 0, rel = 0;
            REQUIRE(std::sscanf(row.c_str() + preset.name.size() + 1, "%lf,%lf,%lf,%lf", &f, &dt, &dw, &rel) == 4);
            CHECK(f == expected[i].frequency_hz);
            CHECK(dt == expected[i].dt_ms);
            CHECK(dw == doctest::Approx(expected[i].dw_mV).epsilon(1e-12));
        }
    }
    CHECK(fs::exists(d / "stdp_frequency_presets.json"));
    fs::remove_all(d);
    CHECK(run("--protocol pairing") == 2);
    CHECK(run("--protocol frequency --spec " + std::string(SPIKEEM_SOURCE_DIR) + "/examples/song2000/song2000.pbtxt") ==
          2);
}
