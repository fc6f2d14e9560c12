// Networks whose spike times are known exactly, and determinism.
#include <doctest/doctest.h>

#include <numeric>

#include "helpers.hpp"

using namespace spikeem;
using namespace spikeem::test;

TEST_CASE("A ring with distinct delays passes one spike around at exactly the summed delays") {
    const std::uint32_t n = 7;
    NetworkSpec s;
    s.run.duration_ms = 60.0;
    LifDeltaParams p{10.0, -70.0, -70.0, -55.0, 1.0, -70.0};
    s.populations = {lif("ring", n, p), spike_times("start", {{2.0}})};
    ExplicitPairs ring;
    std::vector<double> delay(n);
    for (std::uint32_t i = 0; i < n; ++i) {
        delay[i] = 0.5 + 0.25 * i + 0.001 * i * i;  // neuron i -> i+1
        ring.pairs.push_back({i, (i + 1) % n, std::nullopt, delay[i]});
    }
    s.projections = {connect("ring", "ring", ring, 20.0, 1.0),
                     connect("start", "ring", ExplicitPairs{{{0, 0, std::nullopt, std::nullopt}}}, 20.0, 0.3)};
    s.record.spike_populations = {"ring"};
    Simulation sim(s);
    sim.run();
    const TimeBase& tb = sim.time();
    // Neuron 0 fires at 2.3 ms; each hop adds its delay exactly (in ticks).
    std::vector<SpikeRecord> expected;
    Tick t = tb.round(2.3);
    std::uint32_t i = 0;
    while (t < tb.round(60.0)) {
        expected.push_back({t, 0, i});
        t += tb.round(delay[i]);
        i = (i + 1) % n;
    }
    auto got = sim.sorted_spikes();
    REQUIRE(got.size() == expected.size());
    CHECK(got.size() > 2 * n);
    for (std::size_t k = 0; k < got.size(); ++k) {
        CHECK(got[k].t == expected[k].t);
        CHECK(got[k].neuron == expected[k].neuron);
    }
}

TEST_CASE("A feed-forward chain fans out through delay groups") {
    // One source, three targets with delays 1, 1, 2 ms: two delay groups, one queue entry each.
    NetworkSpec s;
    s.run.duration_ms = 10.0;
    LifDeltaParams p{10.0, -70.0, -70.0, -55.0, 1.0, -70.0};
    s.populations = {spike_times("in", {{1.0}}), lif("out", 3, p)};
    s.projections = {connect("in", "out",
                             ExplicitPairs{{{0, 0, std::nullopt, 1.0}, {0, 1, std::nullopt, 2.0}, {0, 2, std::nullopt, 1.0}}},
                             20.0, 1.0)};
    s.record.spike_populations = {"out"};
    Simulation sim(s);
    const Projection& pj = sim.projection(0);
    CHECK(pj.group_end(0) - pj.group_begin(0) == 2);
    CHECK(pj.group_size(pj.group_begin(0)) == 2);
    sim.run();
    auto got = sim.sorted_spikes();
    REQUIRE(got.size() == 3);
    CHECK(got[0].t == sim.time().round(2.0));
    CHECK(got[0].neuron == 0);
    CHECK(got[1].t == sim.time().round(2.0));
    CHECK(got[1].neuron == 2);
    CHECK(got[2].t == sim.time().round(3.0));
    CHECK(sim.events_processed() == 1 + 2);  // one source event, two delivery groups
    CHECK(sim.synaptic_events() == 3);
}

namespace {
bool same_voltages(const std::vector<VoltageSample>& a, const std::vector<VoltageSample>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t k = 0; k < a.size(); ++k)
        if (a[k].t != b[k].t || a[k].neuron != b[k].neuron || a[k].v_mV != b[k].v_mV) return false;
    return true;
}
}  // namespace

TEST_CASE("Same seed gives identical spikes and voltages and another seed does not") {
    Simulation a(small_cuba(11)), b(small_cuba(11)), c(small_cuba(12));
    a.run();
    b.run();
    c.run();
    REQUIRE(a.sorted_spikes().size() > 1000);
    CHECK(same_spikes(a.sorted_spikes(), b.sorted_spikes()));
    CHECK(same_voltages(a.voltages(), b.voltages()));
    CHECK_FALSE(same_spikes(a.sorted_spikes(), c.sorted_spikes()));
}

TEST_CASE("Two simulations advancing in interleaved chunks agree with separate runs") {
    Simulation alone1(small_cuba(3)), alone2(small_cuba(4));
    alone1.run();
    alone2.run();
    Simulation x(small_cuba(3)), y(small_cuba(4));
    const Tick end = x.duration_ticks();
    for (Tick t = 0; t <= end; t += end / 17 + 1) {
        x.run_until(std::min(t, end));
        y.run_until(std::min(t, end));
    }
    x.run();
    y.run();
    CHECK(same_spikes(alone1.sorted_spikes(), x.sorted_spikes()));
    CHECK(same_spikes(alone2.sorted_spikes(), y.sorted_spikes()));
    CHECK(same_voltages(alone1.voltages(), x.voltages()));
    CHECK(x.events_processed() == alone1.events_processed());
}

TEST_CASE("Adding a population or a voltage probe does not change anyone else's spikes") {
    NetworkSpec base = small_cuba(5);
    NetworkSpec more = small_cuba(5);
    // A new population first in the list shifts every global index and name-keyed streams must not care.
    more.populations.insert(more.populations.begin(), poisson("other", 100, 30.0));
    more.record.voltages.push_back(VoltageProbeSpec{"I", {}, 0.01});
    Simulation a(base), b(more);
    a.run();
    b.run();
    auto strip = [](std::vector<SpikeRecord> v, std::uint32_t shift, std::uint32_t skip) {
        std::vector<SpikeRecord> out;
        for (auto s : v) {
            if (s.population == skip) continue;
            s.population -= shift;
            out.push_back(s);
        }
        return out;
    };
    CHECK(same_spikes(a.sorted_spikes(), strip(b.sorted_spikes(), 1, 0)));
}
