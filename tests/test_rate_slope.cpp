// The rate form of Eq. 1 (RateSlopeParams) against a direct pairwise
// reference, with explicit and dendritic delays and pre and post arrivals at
// the same tick.  The tolerance is stated in the test and met by rounding alone.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include "helpers.hpp"

using namespace spikeem;
using namespace spikeem::test;

TEST_CASE("RateSlope equals eta/(tau_pre tau_post) sum x(t_post) - eta/(tau_pre tau_post^2) int x y dt") {
    // Two LIF targets fire exactly at the arrivals of a strong driver; four
    // presynaptic spike lists reach them through explicit delays (plus a
    // dendritic delay in the second run), some arriving at a synapse exactly
    // when a post spike does (pre counts first).  Reference per synapse, with
    // arrivals A (pre) and B (post) at the synapse:
    //   dW = c1 sum_{b in B} sum_{a in A, a <= b} e^{-(b-a)/tau_x}
    //      - c2 sum_{a, b} int_{max(a,b)}^{t_end} e^{-(t-a)/tau_x - (t-b)/tau_y} dt,
    // t_end = the synapse's last event (the rule integrates up to its last touch).
    // Tolerance 1e-10 relative to the sum of the magnitudes of both parts.
    const double tau_x = 15.0, tau_y = 25.0, eta = 40.0, w0 = 0.2;
    const double c1 = eta / (tau_x * tau_y), c2 = eta / (tau_x * tau_y * tau_y);
    const double tau_xy = tau_x * tau_y / (tau_x + tau_y);
    const double ax_delay[4][2] = {{1.0, 2.5}, {1.75, 0.5}, {3.0, 1.25}, {0.8, 2.2}};
    const double drive_delay = 1.0;
    std::mt19937_64 gen(2024);
    std::vector<std::vector<double>> post_times(2);
    for (int q = 0; q < 2; ++q) {
        std::uniform_real_distribution<double> gap(3.0, 40.0);
        for (double t = 5.0 + 3.0 * q; t < 380.0; t += std::round(gap(gen) * 100.0) / 100.0) post_times[q].push_back(t);
    }
    std::vector<std::vector<double>> pre_times(4);
    for (int p = 0; p < 4; ++p) {
        std::uniform_real_distribution<double> gap(1.0, 25.0);
        for (double t = 1.0 + p; t < 390.0; t += std::round(gap(gen) * 1000.0) / 1000.0) pre_times[p].push_back(t);
    }
    for (double d_den : {0.0, 1.5}) {
        CAPTURE(d_den);
        std::vector<std::vector<double>> pre = pre_times;
        // Ties at the synapse: pre p's spike reaches post q's synapse exactly at a post arrival.
        for (int p = 0; p < 4; ++p) {
            const int q = p % 2;
            for (std::size_t k = 2 + p; k < post_times[q].size(); k += 5)
                pre[p].push_back(post_times[q][k] + drive_delay + d_den - ax_delay[p][q]);
        }
        NetworkSpec s;
        s.run.duration_ms = 450.0;
        std::vector<std::vector<double>> drive = post_times;
        s.populations = {lif("post", 2, LifDeltaParams{10.0, -70.0, -70.0, -20.0, 1.0, -70.0}),
                         spike_times("drive", drive), spike_times("pre", pre)};
        ExplicitPairs pairs;
        for (std::uint32_t p = 0; p < 4; ++p)
            for (std::uint32_t q = 0; q < 2; ++q) pairs.pairs.push_back({p, q, std::nullopt, ax_delay[p][q]});
        ProjectionSpec plastic = connect("pre", "post", pairs, w0, 1.0);
        plastic.dendritic_delay_ms = d_den;
        plastic.plasticity = unbounded(RateSlopeParams{eta, tau_x, tau_y});
        s.projections = {connect("drive", "post", OneToOne{}, 100.0, drive_delay), plastic};
        s.record.spike_populations = {"post"};
        Simulation sim(s);
        sim.run();
        const TimeBase& tb = sim.time();
        for (std::uint32_t q = 0; q < 2; ++q) {
            std::vector<Tick> expected;
            for (double t : post_times[q]) expected.push_back(tb.round(t) + tb.round(drive_delay));
            REQUIRE(spike_ticks(sim, 0, q) == expected);
        }

        int ties = 0;
        for (const auto& ws : sim.weights_now(1)) {
            CAPTURE(ws.pre);
            CAPTURE(ws.post);
            std::vector<Tick> A, B;
            for (double t : pre[ws.pre]) A.push_back(tb.round(t) + tb.round(ax_delay[ws.pre][ws.post]));
            for (double t : post_times[ws.post]) B.push_back(tb.round(t) + tb.round(drive_delay) + tb.round(d_den));
            const Tick t_end = std::max(*std::max_element(A.begin(), A.end()), *std::max_element(B.begin(), B.end()));
            double pot = 0.0, dep = 0.0;
            for (Tick b : B)
                for (Tick a : A) {
                    if (a == b) ++ties;
                    if (a <= b) pot += c1 * std::exp(-ms(b - a) / tau_x);
                    const Tick m = std::max(a, b);
                    if (m < t_end)
                        dep += c2 * std::exp(-ms(m - a) / tau_x - ms(m - b) / tau_y) * tau_xy *
                               -std::expm1(-ms(t_end - m) / tau_xy);
                }
            CHECK(pot > 0.1);
            CHECK(dep > 0.1);
            CHECK(std::abs(ws.w - (w0 + pot - dep)) <= 1e-10 * (pot + dep));
        }
        CHECK(ties >= 8);
    }
}
