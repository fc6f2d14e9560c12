// Poisson sources: counts and intervals against the Poisson process, with
// fixed seeds and a stated significance level for every statistical check
// (kZ and kKs: stats.hpp).
#include <doctest/doctest.h>

#include <cmath>

#include "helpers.hpp"
#include "stats.hpp"

using namespace spikeem;
using namespace spikeem::test;

namespace {

struct Trains {
    std::vector<std::vector<double>> per_neuron;  // spike times in ms
};

Trains run_poisson(std::uint64_t seed, std::uint32_t n, double rate_hz, double start_ms, double stop_ms,
                   double duration_ms) {
    NetworkSpec s;
    s.run.duration_ms = duration_ms;
    s.run.seed = seed;
    s.populations = {poisson("p", n, rate_hz, start_ms, stop_ms)};
    s.record.spike_populations = {"p"};
    Simulation sim(s);
    sim.run();
    Trains t{std::vector<std::vector<double>>(n)};
    for (const auto& sp : sim.sorted_spikes()) t.per_neuron[sp.neuron].push_back(sim.time().to_ms(sp.t));
    return t;
}
}  // namespace

TEST_CASE("Poisson counts: mean and dispersion match Poisson(rate * T) (alpha = 0.001 per check)") {
    const std::uint32_t n = 400;
    const double rate = 40.0, T_s = 5.0;
    for (std::uint64_t seed : {1u, 2u, 3u}) {
        CAPTURE(seed);
        Trains t = run_poisson(seed, n, rate, 0.0, INFINITY, T_s * 1000.0);
        const double lambda = rate * T_s;
        double total = 0, disp = 0;
        for (const auto& tr : t.per_neuron) total += static_cast<double>(tr.size());
        for (const auto& tr : t.per_neuron) disp += (tr.size() - lambda) * (tr.size() - lambda) / lambda;
        // Total count ~ Poisson(n lambda): z-test.
        CHECK(std::abs(total - n * lambda) / std::sqrt(n * lambda) < kZ);
        // Dispersion index sum (k - lambda)^2 / lambda ~ chi2(n) approximately normal(n, 2n) for n = 400.
        CHECK(std::abs(disp - n) / std::sqrt(2.0 * n) < kZ);
    }
}

TEST_CASE("Poisson intervals are exponential (KS test at alpha = 0.001 per seed)") {
    const double rate = 25.0;
    for (std::uint64_t seed : {7u, 8u}) {
        CAPTURE(seed);
        Trains t = run_poisson(seed, 100, rate, 0.0, INFINITY, 8000.0);
        std::vector<double> isi;
        for (const auto& tr : t.per_neuron)
            for (std::size_t k = 1; k < tr.size(); ++k) isi.push_back(tr[k] - tr[k - 1]);
        REQUIRE(isi.size() > 10000);
        CHECK(ks_exponential(isi, rate / 1000.0) < kKs);
    }
}

TEST_CASE("A KS test on intervals of the wrong rate fails: the check has power") {
    Trains t = run_poisson(7, 100, 25.0, 0.0, INFINITY, 8000.0);
    std::vector<double> isi;
    for (const auto& tr : t.per_neuron)
        for (std::size_t k = 1; k < tr.size(); ++k) isi.push_back(tr[k] - tr[k - 1]);
    CHECK(ks_exponential(isi, 26.0 / 1000.0) > kKs);  // a 4 % rate error is detected
}

TEST_CASE("Poisson sources respect start and stop") {
    Trains t = run_poisson(3, 50, 500.0, 20.0, 30.0, 100.0);
    std::size_t total = 0;
    for (const auto& tr : t.per_neuron)
        for (double x : tr) {
            CHECK(x >= 20.0);
            CHECK(x <= 30.0);  // rounding to the ns tick may land exactly on 30
            ++total;
        }
    // 50 * 500 Hz * 10 ms = 250 expected.
    CHECK(std::abs(static_cast<double>(total) - 250.0) / std::sqrt(250.0) < kZ);
}
