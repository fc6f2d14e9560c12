#include <doctest/doctest.h>
// Tests of io/spec_loader: text specs convert to the right NetworkSpec, and
// malformed specs are rejected with a SpecError that names the file, the
// line:column of the offending field, the field path, the value and the rule.
//
// Line/column numbers asserted below are counted by hand from the spec texts
// (1-based; every text starts on line 1 right after the R"pb( delimiter).

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "file_helpers.hpp"
#include "io/spec_loader.hpp"
#include "network/spec.hpp"

namespace fs = std::filesystem;
using spikeem::io::load_spec_file;
using spikeem::io::load_spec_text;
using spikeem::io::SpecError;
using spikeem::io::SpecOverrides;

namespace {

// The SpecError message for `text`, or "<no error>" when it loads.
std::string error_of(const std::string& text, const SpecOverrides& o = {}) {
    try {
        (void)load_spec_text(text, "t.pbtxt", o);
    } catch (const SpecError& e) {
        return e.what();
    } catch (const std::exception& e) {
        return std::string("<not a SpecError: ") + e.what() + ">";
    }
    return "<no error>";
}

std::string file_error_of(const std::string& path) {
    try {
        (void)load_spec_file(path);
    } catch (const SpecError& e) {
        return e.what();
    }
    return "<no error>";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::vector<std::string> lines_of(const std::string& s) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (true) {
        std::size_t nl = s.find('\n', start);
        out.push_back(s.substr(start, nl - start));
        if (nl == std::string::npos) break;
        start = nl + 1;
    }
    return out;
}

const char* kValidSpec = R"pb(name: "small"
run { duration_ms: 250 seed: 7 resolution_ns: 0.1 }
population { name: "A" size: 3 lif_delta { tau_m_ms: 20 } }
population { name: "B" size: 2 lif_delta {} }
population { name: "C" size: 1 lif_delta { v_rest_mV: -50 v_th_mV: -55 v_reset_mV: -65 } }
population { name: "P" size: 4 poisson { rate_hz: 10 } }
population { name: "S" size: 2 spike_times { train { neuron: 1 t_ms: [3, 1.5] } } }
projection {
  source: "A" target: "B" fixed_probability { p: 0.5 }
  weight_mV { constant: 0.5 } delay_ms { uniform { low: 1 high: 2 } }
}
projection {
  name: "drive" source: "P" target: "A" source_neurons { begin: 1 end: 4 }
  one_to_one {} weight_mV { normal { mean: 1 std: 0.1 min: 0 } } delay_ms { constant: 0.5 }
}
record { spikes: "A" voltage { population: "B" neuron: [1] interval_ms: 0.5 } }
)pb";

}  // namespace

// ---------------------------------------------------------------------------
// 1. A valid spec converts to the expected domain values.

TEST_CASE("spec: a valid spec converts to the domain structs") {
    auto loaded = load_spec_text(kValidSpec, "t.pbtxt");
    const auto& s = loaded.spec;
    CHECK(loaded.origin == "t.pbtxt");
    CHECK(s.name == "small");

    // run: explicit values; resolution 0.1 ns = 10^-7 ms per tick.
    CHECK(s.run.duration_ms == 250.0);
    CHECK(s.run.seed == 7u);
    CHECK(s.run.time_digits == 7);

    REQUIRE(s.populations.size() == 5);
    CHECK(s.populations[0].name == "A");
    CHECK(s.populations[0].size == 3u);
    CHECK(s.populations[1].size == 2u);
    CHECK(s.populations[3].size == 4u);

    // A: tau_m set, everything else from the LifDelta defaults.
    REQUIRE(std::holds_alternative<spikeem::LifDeltaParams>(s.populations[0].model));
    const auto& a = std::get<spikeem::LifDeltaParams>(s.populations[0].model);
    CHECK(a.tau_m_ms == 20.0);
    CHECK(a.v_rest_mV == -70.0);
    CHECK(a.v_reset_mV == -70.0);
    CHECK(a.v_th_mV == -55.0);
    CHECK(a.t_ref_ms == 2.0);
    REQUIRE(std::holds_alternative<double>(a.v_init_mV));
    CHECK(std::get<double>(a.v_init_mV) == -70.0);  // v_rest

    // B: an empty lif_delta {} gets the default tau_m.
    const auto& b = std::get<spikeem::LifDeltaParams>(s.populations[1].model);
    CHECK(b.tau_m_ms == 10.0);

    // C: v_rest >= v_th, so the default initial V is v_reset, not v_rest.
    const auto& c = std::get<spikeem::LifDeltaParams>(s.populations[2].model);
    CHECK(c.v_rest_mV == -50.0);
    REQUIRE(std::holds_alternative<double>(c.v_init_mV));
    CHECK(std::get<double>(c.v_init_mV) == -65.0);

    // P: Poisson with default start and stop (the end of the run).
    REQUIRE(std::holds_alternative<spikeem::PoissonParams>(s.populations[3].model));
    const auto& p = std::get<spikeem::PoissonParams>(s.populations[3].model);
    CHECK(p.rate_hz == 10.0);
    CHECK(p.start_ms == 0.0);
    CHECK(p.stop_ms == std::numeric_limits<double>::infinity());

    // S: one list of times per neuron, neuron 0 silent.
    REQUIRE(std::holds_alternative<spikeem::SpikeTimesParams>(s.populations[4].model));
    const auto& st = std::get<spikeem::SpikeTimesParams>(s.populations[4].model);
    REQUIRE(st.times_ms.size() == 2);
    CHECK(st.times_ms[0].empty());
    CHECK(st.times_ms[1] == std::vector<double>{3.0, 1.5});

    // Projections: default name "source->target", explicit name kept.
    REQUIRE(s.projections.size() == 2);
    const auto& ab = s.projections[0];
    CHECK(ab.name == "A->B");
    CHECK(ab.source == "A");
    CHECK(ab.target == "B");
    CHECK_FALSE(ab.source_range.has_value());
    REQUIRE(std::holds_alternative<spikeem::FixedProbability>(ab.connectivity));
    CHECK(std::get<spikeem::FixedProbability>(ab.connectivity).p == 0.5);
    REQUIRE(std::holds_alternative<double>(ab.weight_mV));
    CHECK(std::get<double>(ab.weight_mV) == 0.5);
    REQUIRE(std::holds_alternative<spikeem::UniformDist>(ab.delay_ms));
    CHECK(std::get<spikeem::UniformDist>(ab.delay_ms).low == 1.0);
    CHECK(std::get<spikeem::UniformDist>(ab.delay_ms).high == 2.0);

    const auto& drive = s.projections[1];
    CHECK(drive.name == "drive");
    REQUIRE(drive.source_range.has_value());
    CHECK(drive.source_range->begin == 1u);
    CHECK(drive.source_range->end == 4u);
    CHECK(std::holds_alternative<spikeem::OneToOne>(drive.connectivity));
    REQUIRE(std::holds_alternative<spikeem::NormalDist>(drive.weight_mV));
    const auto& w = std::get<spikeem::NormalDist>(drive.weight_mV);
    CHECK(w.mean == 1.0);
    CHECK(w.std == 0.1);
    CHECK(w.low == 0.0);
    CHECK(w.high == std::numeric_limits<double>::infinity());  // max not given

    // Record.
    CHECK(s.record.spike_populations == std::vector<std::string>{"A"});
    REQUIRE(s.record.voltages.size() == 1);
    CHECK(s.record.voltages[0].population == "B");
    CHECK(s.record.voltages[0].neurons == std::vector<std::uint32_t>{1});
    CHECK(s.record.voltages[0].interval_ms == 0.5);
}

TEST_CASE("spec: run defaults when the run block is absent") {
    auto s = load_spec_text(R"pb(population { name: "A" size: 1 lif_delta {} })pb", "t.pbtxt").spec;
    CHECK(s.run.duration_ms == 1000.0);
    CHECK(s.run.seed == 1u);
    CHECK(s.run.time_digits == 6);  // 1 ns
    CHECK(s.projections.empty());
}

TEST_CASE("spec: resolution_ns maps to time_digits across the allowed range") {
    struct Case {
        const char* res;
        int digits;
    };
    for (Case c : {Case{"0.001", 9}, Case{"1", 6}, Case{"1000", 3}, Case{"1e6", 0}}) {
        CAPTURE(c.res);
        std::string text = std::string("run { resolution_ns: ") + c.res +
                           " }\npopulation { name: \"A\" size: 1 lif_delta {} }\n";
        CHECK(load_spec_text(text, "t.pbtxt").spec.run.time_digits == c.digits);
    }
}

TEST_CASE("spec: values on the edge of the allowed ranges are accepted") {
    // p = 0 and p = 1, indegree equal to the source pool, a uniform initial V
    // whose (exclusive) high equals v_th, t_ref 0, rate 0.
    const char* text = R"pb(population { name: "A" size: 3 lif_delta { t_ref_ms: 0 v_init_mV { uniform { low: -60 high: -55 } } } }
population { name: "B" size: 2 lif_delta {} }
population { name: "Q" size: 1 poisson { rate_hz: 0 } }
projection { name: "p0" source: "A" target: "B" fixed_probability { p: 0 } weight_mV { constant: 1 } delay_ms { constant: 1 } }
projection { name: "p1" source: "A" target: "B" fixed_probability { p: 1 } weight_mV { constant: 1 } delay_ms { constant: 1 } }
projection { source: "A" target: "B" fixed_indegree { indegree: 3 } weight_mV { constant: 1 } delay_ms { constant: 1 } }
projection { source: "A" target: "A" fixed_indegree { indegree: 2 } weight_mV { constant: 1 } delay_ms { constant: 1 } }
projection { source: "B" target: "B" allow_autapses: true fixed_indegree { indegree: 2 } weight_mV { constant: 1 } delay_ms { constant: 1 } }
)pb";
    CHECK(error_of(text) == "<no error>");
}

TEST_CASE("spec: explicit pairs with their own weight and delay need no projection-wide ones") {
    const char* text = R"pb(population { name: "A" size: 3 lif_delta {} }
projection { source: "A" target: "A" explicit { pair { pre: 0 post: 2 weight_mV: 1.5 delay_ms: 0.25 } } }
)pb";
    auto s = load_spec_text(text, "t.pbtxt").spec;
    REQUIRE(s.projections.size() == 1);
    REQUIRE(std::holds_alternative<spikeem::ExplicitPairs>(s.projections[0].connectivity));
    const auto& pairs = std::get<spikeem::ExplicitPairs>(s.projections[0].connectivity).pairs;
    REQUIRE(pairs.size() == 1);
    CHECK(pairs[0].pre == 0u);
    CHECK(pairs[0].post == 2u);
    CHECK(pairs[0].weight_mV == 1.5);
    CHECK(pairs[0].delay_ms == 0.25);

    // Without the pair's delay the projection-wide delay_ms is required again.
    const char* missing = R"pb(population { name: "A" size: 3 lif_delta {} }
projection { source: "A" target: "A" explicit { pair { pre: 0 post: 2 weight_mV: 1.5 } } }
)pb";
    CHECK(contains(error_of(missing), "t.pbtxt: projection \"A->A\".delay_ms: missing"));
}

// ---------------------------------------------------------------------------
// Overrides and the spec hash.

TEST_CASE("spec: overrides replace the run values and feed the hash") {
    auto plain = load_spec_text(kValidSpec, "t.pbtxt");
    auto again = load_spec_text(kValidSpec, "t.pbtxt");
    auto other_origin = load_spec_text(kValidSpec, "elsewhere.pbtxt");

    // Hash format: "fnv1a64:" and 16 lower-case hex digits.
    REQUIRE(plain.hash.size() == 8 + 16);
    CHECK(plain.hash.rfind("fnv1a64:", 0) == 0);
    CHECK(plain.hash.find_first_not_of("0123456789abcdef", 8) == std::string::npos);

    // Stable for identical input, independent of the origin label.
    CHECK(plain.hash == again.hash);
    CHECK(plain.hash == other_origin.hash);

    SpecOverrides o;
    o.seed = 99;
    o.duration_ms = 50.0;
    auto over = load_spec_text(kValidSpec, "t.pbtxt", o);
    CHECK(over.spec.run.seed == 99u);
    CHECK(over.spec.run.duration_ms == 50.0);
    CHECK(over.spec.run.time_digits == 7);  // untouched
    CHECK(over.hash != plain.hash);

    // A seed override alone changes the hash; a different seed gives another hash.
    SpecOverrides s1, s2;
    s1.seed = 2;
    s2.seed = 3;
    auto h1 = load_spec_text(kValidSpec, "t.pbtxt", s1).hash;
    auto h2 = load_spec_text(kValidSpec, "t.pbtxt", s2).hash;
    CHECK(h1 != plain.hash);
    CHECK(h1 != h2);
    CHECK(h1 == load_spec_text(kValidSpec, "t.pbtxt", s1).hash);

    // The hash is of the effective spec: overriding with the spec's own seed changes nothing.
    SpecOverrides same;
    same.seed = 7;
    CHECK(load_spec_text(kValidSpec, "t.pbtxt", same).hash == plain.hash);

    // Overrides also apply when the spec has no run block at all.
    auto bare = load_spec_text(R"pb(population { name: "A" size: 1 lif_delta {} })pb", "t.pbtxt", o).spec;
    CHECK(bare.run.seed == 99u);
    CHECK(bare.run.duration_ms == 50.0);

    // Overrides are validated like spec values.
    SpecOverrides bad;
    bad.duration_ms = -1.0;
    CHECK(contains(error_of(kValidSpec, bad), "run.duration_ms = -1: must be > 0 (ms)"));
}

TEST_CASE("spec: the hash changes with the content") {
    const char* a = R"pb(population { name: "A" size: 1 lif_delta {} })pb";
    const char* b = R"pb(population { name: "A" size: 2 lif_delta {} })pb";
    // Formatting and comments do not change the hash (it is of the parsed spec).
    const char* a_spaced = "# comment\npopulation {\n  name: \"A\"\n  size: 1\n  lif_delta { }\n}\n";
    CHECK(load_spec_text(a, "t.pbtxt").hash != load_spec_text(b, "t.pbtxt").hash);
    CHECK(load_spec_text(a, "t.pbtxt").hash == load_spec_text(a_spaced, "t.pbtxt").hash);
}

// ---------------------------------------------------------------------------
// 2. Malformed specs: each has exactly one problem, reported on one line that
// contains every expected fragment (location, path, value, rule).

TEST_CASE("spec: malformed specs are rejected with a precise message") {
    struct Bad {
        std::string what;
        const char* text;
        std::vector<std::string> fragments;
    };
    const std::vector<Bad> cases = {
        {"unknown field",
         R"pb(population {
  name: "A" size: 1
  lif_delt {}
}
)pb",
         {"t.pbtxt:3:", "no field named \"lif_delt\""}},

        {"syntax error: a field without a value",
         R"pb(run { duration_ms: }
population { name: "A" size: 1 lif_delta {} }
)pb",
         {"t.pbtxt:1:20:", "Expected"}},

        {"syntax error: unclosed message",
         R"pb(population { name: "A" size: 1 lif_delta {}
)pb",
         {"t.pbtxt:", "Expected"}},

        {"negative tau_m_ms",
         R"pb(population {
  name: "E" size: 1
  lif_delta { tau_m_ms: -5 }
}
)pb",
         {"t.pbtxt:3:15: population \"E\".lif_delta.tau_m_ms = -5: must be > 0 (ms)"}},

        {"negative t_ref_ms",
         R"pb(population {
  name: "E" size: 1
  lif_delta { t_ref_ms: -1 }
}
)pb",
         {"t.pbtxt:3:15: population \"E\".lif_delta.t_ref_ms = -1: must be >= 0 (ms)"}},

        {"v_reset_mV above v_th_mV",
         R"pb(population {
  name: "E" size: 1
  lif_delta { v_th_mV: -55 v_reset_mV: -50 }
}
)pb",
         {"t.pbtxt:3:28: population \"E\".lif_delta.v_reset_mV = -50: must be < v_th_mV = -55 (mV)"}},

        {"v_reset_mV (default) equal to v_th_mV",
         R"pb(population { name: "E" size: 1 lif_delta { v_th_mV: -70 } })pb",
         {"t.pbtxt: population \"E\".lif_delta.v_reset_mV = -70: must be < v_th_mV = -70 (mV)"}},

        {"lif_cond_exp with tau_e_ms 0",
         R"pb(population { name: "E" size: 1 lif_cond_exp { tau_e_ms: 0 } })pb",
         {"t.pbtxt:1:47: population \"E\".lif_cond_exp.tau_e_ms = 0: must be > 0 (ms)"}},

        {"adex with delta_t_mV 0 (the LIF limit is refused)",
         R"pb(population { name: "E" size: 1 adex { delta_t_mV: 0 } })pb",
         {"t.pbtxt:1:39: population \"E\".adex.delta_t_mV = 0: must be > 0 (mV); the LIF limit delta_t = 0 is not supported"}},

        {"adex with v_peak_mV below v_t_mV",
         R"pb(population { name: "E" size: 1 adex { v_t_mV: -50 v_peak_mV: -55 } })pb",
         {"t.pbtxt:1:51: population \"E\".adex.v_peak_mV = -55: must be > v_t_mV = -50 (mV)"}},

        {"adex with v_peak_mV too far above v_t_mV",
         R"pb(population { name: "E" size: 1 adex { delta_t_mV: 0.1 v_peak_mV: 20 } })pb",
         {"t.pbtxt:1:55: population \"E\".adex.v_peak_mV = 20: must be at most 500 delta_t_mV = 50 above v_t_mV = -50.4"}},

        {"adex with v_reset_mV at v_peak_mV",
         R"pb(population { name: "E" size: 1 adex { v_reset_mV: 0 } })pb",
         {"t.pbtxt:1:39: population \"E\".adex.v_reset_mV = 0: must be < v_peak_mV = 0 (mV)"}},

        {"adex with tau_w_ms 0",
         R"pb(population { name: "E" size: 1 adex { tau_w_ms: 0 } })pb",
         {"t.pbtxt:1:39: population \"E\".adex.tau_w_ms = 0: must be > 0 (ms)"}},

        {"adex with a negative capacitance",
         R"pb(population { name: "E" size: 1 adex { c_pF: -281 } })pb",
         {"t.pbtxt:1:39: population \"E\".adex.c_pF = -281: must be > 0 (pF)"}},

        {"adex with an infinite i_e_pA",
         R"pb(population { name: "E" size: 1 adex { i_e_pA: inf } })pb",
         {"t.pbtxt:1:39: population \"E\".adex.i_e_pA = inf: must be a finite number (pA)"}},

        {"adex with v_init_mV at v_peak_mV",
         R"pb(population { name: "E" size: 1 adex { v_init_mV { uniform { low: -70 high: 1 } } } })pb",
         {"t.pbtxt:1:39: population \"E\".adex.v_init_mV: every initial value must be below v_peak_mV = 0 (mV); it allows 1"}},

        {"missing model",
         R"pb(population { name: "E" size: 1 })pb",
         {"t.pbtxt:1:1: population \"E\": no model: expected one of lif_delta, lif_exp, lif_cond_exp, stochastic, poisson, spike_times"}},

        {"duplicate population name",
         R"pb(population { name: "E" size: 1 lif_delta {} }
population { name: "E" size: 2 lif_delta {} }
)pb",
         {"t.pbtxt:2:14: population \"E\".name = \"E\": must be unique"}},

        {"population name with a space",
         R"pb(population { name: "my pop" size: 1 lif_delta {} })pb",
         {"t.pbtxt:1:14: population[0].name = \"my pop\": must be 1 to 200 of the characters"}},

        {"size 0",
         R"pb(population { name: "E" size: 0 lif_delta {} })pb",
         {"t.pbtxt:1:24: population \"E\".size = 0: must be >= 1 (neurons)"}},

        {"unknown projection source",
         R"pb(population { name: "A" size: 3 lif_delta {} }
population { name: "B" size: 2 lif_delta {} }
projection {
  source: "C" target: "B"
  all_to_all {}
  weight_mV { constant: 1 } delay_ms { constant: 1 }
}
)pb",
         {"t.pbtxt:4:3: projection \"C->B\".source = \"C\": no such population (known: A, B)"}},

        {"projection onto a poisson source",
         R"pb(population { name: "P" size: 1 poisson { rate_hz: 5 } }
population { name: "B" size: 1 lif_delta {} }
projection {
  source: "B" target: "P"
  all_to_all {}
  weight_mV { constant: 1 } delay_ms { constant: 1 }
}
)pb",
         {"t.pbtxt:4:15: projection \"B->P\".target = \"P\": must be a neuron population (lif_delta, lif_exp, lif_cond_exp, stochastic or adex), not a "
          "spike source"}},

        {"projection without connectivity",
         R"pb(population { name: "A" size: 3 lif_delta {} }
population { name: "B" size: 2 lif_delta {} }
projection {
  source: "A" target: "B"
  weight_mV { constant: 1 } delay_ms { constant: 1 }
}
)pb",
         {"t.pbtxt:3:1: projection \"A->B\": no connectivity: expected one of all_to_all"}},

        {"delay_ms constant 0",
         R"pb(population { name: "A" size: 3 lif_delta {} }
population { name: "B" size: 2 lif_delta {} }
projection {
  source: "A" target: "B"
  all_to_all {}
  weight_mV { constant: 1 } delay_ms { constant: 0 }
}
)pb",
         {"t.pbtxt:6:40: projection \"A->B\".delay_ms.constant = 0: must be >= the resolution 1e-06 (ms)"}},

        {"delay_ms normal without a positive min",
         R"pb(population { name: "A" size: 3 lif_delta {} }
population { name: "B" size: 2 lif_delta {} }
projection {
  source: "A" target: "B"
  all_to_all {}
  weight_mV { constant: 1 } delay_ms { normal { mean: 1 std: 0.1 min: 0 } }
}
)pb",
         {"t.pbtxt:6:", "projection \"A->B\".delay_ms.normal.min = 0: must be set and >= the resolution 1e-06 (ms)"}},

        {"missing weight_mV",
         R"pb(population { name: "A" size: 3 lif_delta {} }
population { name: "B" size: 2 lif_delta {} }
projection {
  source: "A" target: "B"
  all_to_all {}
  delay_ms { constant: 1 }
}
)pb",
         {"t.pbtxt: projection \"A->B\".weight_mV: missing: expected constant, uniform or normal (mV)"}},

        {"fixed_probability p = 1.5",
         R"pb(population { name: "A" size: 3 lif_delta {} }
population { name: "B" size: 2 lif_delta {} }
projection {
  source: "A" target: "B"
  fixed_probability { p: 1.5 }
  weight_mV { constant: 1 } delay_ms { constant: 1 }
}
)pb",
         {"t.pbtxt:5:23: projection \"A->B\".fixed_probability.p = 1.5: must be a probability in [0, 1]"}},

        {"one_to_one with unequal sizes",
         R"pb(population { name: "A" size: 3 lif_delta {} }
population { name: "B" size: 2 lif_delta {} }
projection {
  source: "A" target: "B"
  one_to_one {}
  weight_mV { constant: 1 } delay_ms { constant: 1 }
}
)pb",
         {"t.pbtxt:5:3: projection \"A->B\".one_to_one: needs equal source and target sizes, got 3 and 2 (neurons)"}},

        {"fixed_indegree larger than the source pool",
         R"pb(population { name: "A" size: 3 lif_delta {} }
population { name: "B" size: 2 lif_delta {} }
projection {
  source: "A" target: "B"
  fixed_indegree { indegree: 4 }
  weight_mV { constant: 1 } delay_ms { constant: 1 }
}
)pb",
         {"t.pbtxt:5:20: projection \"A->B\".fixed_indegree.indegree = 4: must be <= 3 (distinct sources available)"}},

        {"fixed_indegree onto itself without autapses",
         R"pb(population { name: "A" size: 3 lif_delta {} }
population { name: "B" size: 2 lif_delta {} }
projection {
  source: "A" target: "A"
  fixed_indegree { indegree: 3 }
  weight_mV { constant: 1 } delay_ms { constant: 1 }
}
)pb",
         {"t.pbtxt:5:20: projection \"A->A\".fixed_indegree.indegree = 3: must be <= 2 (distinct sources "
          "available, autapses excluded)"}},

        {"explicit pair index out of range",
         R"pb(population { name: "A" size: 3 lif_delta {} }
population { name: "B" size: 2 lif_delta {} }
projection {
  source: "A" target: "B"
  explicit { pair { pre: 3 post: 0 } }
  weight_mV { constant: 1 } delay_ms { constant: 1 }
}
)pb",
         {"t.pbtxt:5:21: projection \"A->B\".explicit.pair[0].pre = 3: must be < 3 (source neurons)"}},

        {"target_neurons end beyond the population",
         R"pb(population { name: "A" size: 3 lif_delta {} }
population { name: "B" size: 2 lif_delta {} }
projection {
  source: "A" target: "B" target_neurons { begin: 0 end: 5 }
  all_to_all {}
  weight_mV { constant: 1 } delay_ms { constant: 1 }
}
)pb",
         {"t.pbtxt:4:53: projection \"A->B\".target_neurons.end = 5: must be <= the population size 2"}},

        {"a uniform with high <= low",
         R"pb(population { name: "A" size: 3 lif_delta {} }
population { name: "B" size: 2 lif_delta {} }
projection {
  source: "A" target: "B"
  all_to_all {}
  weight_mV { uniform { low: 1 high: 1 } } delay_ms { constant: 1 }
}
)pb",
         {"t.pbtxt:6:32: projection \"A->B\".weight_mV.uniform.high = 1: must be > low = 1 (mV)"}},

        {"duplicate projection names (explicit)",
         R"pb(population { name: "A" size: 3 lif_delta {} }
population { name: "B" size: 2 lif_delta {} }
projection { name: "x" source: "A" target: "B" all_to_all {} weight_mV { constant: 1 } delay_ms { constant: 1 } }
projection { name: "x" source: "B" target: "A" all_to_all {} weight_mV { constant: 1 } delay_ms { constant: 1 } }
)pb",
         {"t.pbtxt:4:14: projection \"x\".name = \"x\": must be unique: another projection has this name"}},

        {"duplicate projection names (both defaulted to A->B)",
         R"pb(population { name: "A" size: 3 lif_delta {} }
population { name: "B" size: 2 lif_delta {} }
projection { source: "A" target: "B" all_to_all {} weight_mV { constant: 1 } delay_ms { constant: 1 } }
projection { source: "A" target: "B" all_to_all {} weight_mV { constant: 2 } delay_ms { constant: 1 } }
)pb",
         {"t.pbtxt: projection \"A->B\".name = \"A->B\": must be unique", "set name to tell them apart"}},

        {"resolution_ns not a power of ten",
         R"pb(run { resolution_ns: 2 }
population { name: "A" size: 1 lif_delta {} }
)pb",
         {"t.pbtxt:1:7: run.resolution_ns = 2: must be a power of ten from 0.001 to 1000000 (ns)"}},

        {"resolution_ns a power of ten out of range",
         R"pb(run { resolution_ns: 1e7 }
population { name: "A" size: 1 lif_delta {} }
)pb",
         {"t.pbtxt:1:7: run.resolution_ns = 10000000: must be a power of ten"}},

        {"duration_ms 0",
         R"pb(run { duration_ms: 0 }
population { name: "A" size: 1 lif_delta {} }
)pb",
         {"t.pbtxt:1:7: run.duration_ms = 0: must be > 0 (ms)"}},

        {"duration_ms negative",
         R"pb(run { seed: 3 duration_ms: -10 }
population { name: "A" size: 1 lif_delta {} }
)pb",
         {"t.pbtxt:1:15: run.duration_ms = -10: must be > 0 (ms)"}},

        {"voltage probe on a non-existent neuron",
         R"pb(population { name: "A" size: 3 lif_delta {} }
record {
  voltage { population: "A" neuron: 3 interval_ms: 1 }
}
)pb",
         {"t.pbtxt:3:29: record.voltage[0].neuron[0] = 3: must be < the population size 3 (neuron index)"}},

        {"voltage probe interval below the resolution",
         R"pb(run { resolution_ns: 1e6 }
population { name: "A" size: 3 lif_delta {} }
record { voltage { population: "A" interval_ms: 0.1 } }
)pb",
         {"t.pbtxt:3:36: record.voltage[0].interval_ms = 0.1: must be >= the resolution 1 (ms)"}},

        {"voltage probe on a spike source",
         R"pb(population { name: "P" size: 3 poisson { rate_hz: 1 } }
record { voltage { population: "P" interval_ms: 1 } }
)pb",
         {"t.pbtxt:2:20: record.voltage[0].population = \"P\": must be a neuron population"}},

        {"recording the same population twice",
         R"pb(population { name: "A" size: 3 lif_delta {} }
record { spikes: "A" spikes: "A" }
)pb",
         {"t.pbtxt:2:22: record.spikes[1] = \"A\": is listed twice"}},

        {"initial voltage uniform with high above v_th",
         R"pb(population {
  name: "E" size: 1
  lif_delta { v_th_mV: -50 v_init_mV { uniform { low: -60 high: -49 } } }
}
)pb",
         {"t.pbtxt:3:28: population \"E\".lif_delta.v_init_mV: every initial value must be below v_th_mV = -50 (mV)",
          "allows -49"}},

        {"initial voltage normal without a max",
         R"pb(population { name: "E" size: 1 lif_delta { v_init_mV { normal { mean: -60 std: 1 } } } })pb",
         {"population \"E\".lif_delta.v_init_mV: every initial value must be below v_th_mV = -55 (mV)",
          "the normal's max allows inf"}},

        {"poisson stop_ms <= start_ms",
         R"pb(population {
  name: "P" size: 1
  poisson { rate_hz: 5 start_ms: 10 stop_ms: 10 }
}
)pb",
         {"t.pbtxt:3:37: population \"P\".poisson.stop_ms = 10: must be > start_ms = 10 (ms)"}},

        {"poisson negative rate",
         R"pb(population { name: "P" size: 1 poisson { rate_hz: -1 } })pb",
         {"t.pbtxt:1:42: population \"P\".poisson.rate_hz = -1: must be >= 0 (Hz)"}},

        {"spike_times with a negative time",
         R"pb(population {
  name: "S" size: 2
  spike_times { train { neuron: 1 t_ms: 5 t_ms: -1 } }
}
)pb",
         {"t.pbtxt:3:43: population \"S\".spike_times.train[0].t_ms[1] = -1: must be a finite time >= 0 (ms)"}},

        {"spike_times train for a neuron beyond the size",
         R"pb(population {
  name: "S" size: 2
  spike_times { train { neuron: 2 t_ms: 5 } }
}
)pb",
         {"t.pbtxt:3:25: population \"S\".spike_times.train[0].neuron = 2: must be < size = 2 (neuron index)"}},

        {"infinite weight",
         R"pb(population { name: "A" size: 3 lif_delta {} }
population { name: "B" size: 2 lif_delta {} }
projection {
  source: "A" target: "B"
  all_to_all {}
  weight_mV { constant: inf } delay_ms { constant: 1 }
}
)pb",
         {"t.pbtxt:6:15: projection \"A->B\".weight_mV.constant = inf: must be a finite number (mV)"}},

        // ---- plasticity and weight recorders
        {"pair_stdp with a negative tau_plus_ms",
         R"pb(population { name: "A" size: 3 lif_delta {} }
population { name: "B" size: 2 lif_delta {} }
projection { source: "A" target: "B" all_to_all {} weight_mV { constant: 1 } delay_ms { constant: 1 } plasticity { pair_stdp { a_plus_mV: 0.01 a_minus_mV: 0.01 tau_plus_ms: -20 tau_minus_ms: 20 } } }
)pb",
         {"t.pbtxt:3:161: projection \"A->B\".plasticity.pair_stdp.tau_plus_ms = -20: must be > 0 (ms)"}},

        {"pair_stdp with a negative amplitude",
         R"pb(population { name: "A" size: 3 lif_delta {} }
population { name: "B" size: 2 lif_delta {} }
projection { source: "A" target: "B" all_to_all {} weight_mV { constant: 1 } delay_ms { constant: 1 } plasticity { pair_stdp { a_plus_mV: -0.01 a_minus_mV: 0.01 tau_plus_ms: 20 tau_minus_ms: 20 } } }
)pb",
         {"t.pbtxt:3:128: projection \"A->B\".plasticity.pair_stdp.a_plus_mV = -0.01: must be >= 0 (mV; the sign is the rule's)"}},

        {"unknown triplet preset",
         R"pb(population { name: "A" size: 3 lif_delta {} }
population { name: "B" size: 2 lif_delta {} }
projection { source: "A" target: "B" all_to_all {} weight_mV { constant: 1 } delay_ms { constant: 1 } plasticity { triplet_stdp { preset: "cortex" } } }
)pb",
         {"t.pbtxt:3:131: projection \"A->B\".plasticity.triplet_stdp.preset = \"cortex\": unknown preset (known: visual_all_to_all"}},

        {"multiplicative weight dependence without w_max_mV",
         R"pb(population { name: "A" size: 3 lif_delta {} }
population { name: "B" size: 2 lif_delta {} }
projection { source: "A" target: "B" all_to_all {} weight_mV { constant: 1 } delay_ms { constant: 1 } plasticity { pair_stdp { a_plus_mV: 0.01 a_minus_mV: 0.01 tau_plus_ms: 20 tau_minus_ms: 20 } weight_dependence { multiplicative {} } } }
)pb",
         {"projection \"A->B\".plasticity.w_max_mV: missing: a weight-dependent rule needs a finite upper bound (mV)"}},

        {"w_max_mV not above w_min_mV",
         R"pb(population { name: "A" size: 3 lif_delta {} }
population { name: "B" size: 2 lif_delta {} }
projection { source: "A" target: "B" all_to_all {} weight_mV { constant: 1 } delay_ms { constant: 1 } plasticity { pair_stdp { a_plus_mV: 0.01 a_minus_mV: 0.01 tau_plus_ms: 20 tau_minus_ms: 20 } w_min_mV: 2 w_max_mV: 1 } }
)pb",
         {"t.pbtxt:3:208: projection \"A->B\".plasticity.w_max_mV = 1: must be > w_min_mV = 2 (mV)"}},

        {"initial weights outside the plasticity bounds",
         R"pb(population { name: "A" size: 3 lif_delta {} }
population { name: "B" size: 2 lif_delta {} }
projection { source: "A" target: "B" all_to_all {} weight_mV { uniform { low: 0 high: 3 } } delay_ms { constant: 1 } plasticity { pair_stdp { a_plus_mV: 0.01 a_minus_mV: 0.01 tau_plus_ms: 20 tau_minus_ms: 20 } w_max_mV: 2 } }
)pb",
         {"projection \"A->B\".plasticity: initial weights range over [0, 3] mV, outside the bounds [0, 2] mV"}},

        {"plasticity without a rule",
         R"pb(population { name: "A" size: 3 lif_delta {} }
population { name: "B" size: 2 lif_delta {} }
projection { source: "A" target: "B" all_to_all {} weight_mV { constant: 1 } delay_ms { constant: 1 } plasticity { w_max_mV: 2 } }
)pb",
         {"projection \"A->B\".plasticity: no rule: expected pair_stdp, triplet_stdp, voltage_slope or rate_slope"}},

        {"negative dendritic delay",
         R"pb(population { name: "A" size: 3 lif_delta {} }
population { name: "B" size: 2 lif_delta {} }
projection { source: "A" target: "B" all_to_all {} weight_mV { constant: 1 } delay_ms { constant: 1 } dendritic_delay_ms: -1 }
)pb",
         {"t.pbtxt:3:103: projection \"A->B\".dendritic_delay_ms = -1: must be >= 0 (ms)"}},

        {"guetig with a negative exponent",
         R"pb(population { name: "A" size: 3 lif_delta {} }
population { name: "B" size: 2 lif_delta {} }
projection { source: "A" target: "B" all_to_all {} weight_mV { constant: 1 } delay_ms { constant: 1 } plasticity { pair_stdp { a_plus_mV: 0.01 a_minus_mV: 0.01 tau_plus_ms: 20 tau_minus_ms: 20 } weight_dependence { guetig { mu_plus: -1 mu_minus: 0.5 } } w_max_mV: 2 } }
)pb",
         {"t.pbtxt:3:225: projection \"A->B\".plasticity.weight_dependence.guetig.mu_plus = -1: must be >= 0 (dimensionless)"}},

        {"weight recorder of an unknown projection",
         R"pb(population { name: "A" size: 3 lif_delta {} }
population { name: "B" size: 2 lif_delta {} }
projection { source: "A" target: "B" all_to_all {} weight_mV { constant: 1 } delay_ms { constant: 1 } }
record { weights { projection: "A->C" interval_ms: 1 } }
)pb",
         {"t.pbtxt:4:20: record.weights[0].projection = \"A->C\": no such projection (known: A->B)"}},

        {"weight recorder synapse out of range",
         R"pb(population { name: "A" size: 3 lif_delta {} }
population { name: "B" size: 2 lif_delta {} }
projection { source: "A" target: "B" all_to_all {} weight_mV { constant: 1 } delay_ms { constant: 1 } }
record { weights { projection: "A->B" synapse { pre: 5 post: 0 } interval_ms: 1 } }
)pb",
         {"t.pbtxt:4:49: record.weights[0].synapse[0].pre = 5: must be < the size of \"A\" (neuron index)"}},

        {"rate probe COUNT (the default) without a window",
         R"pb(population { name: "A" size: 3 lif_delta {} }
record { rate { population: "A" interval_ms: 1 } }
)pb",
         {"t.pbtxt: record.rate[0].window_ms: missing: COUNT needs a window >= the resolution 1e-06 (ms)"}},

        {"rate probe COUNT with a zero window",
         R"pb(population { name: "A" size: 3 lif_delta {} }
record { rate { population: "A" interval_ms: 1 readout: COUNT window_ms: 0 } }
)pb",
         {"t.pbtxt:2:63: record.rate[0].window_ms = 0: must be >= the resolution 1e-06 (ms)"}},

        {"rate probe EXP with a negative tau",
         R"pb(population { name: "A" size: 3 lif_delta {} }
record { rate { population: "A" readout: EXP tau_ms: -2 interval_ms: 1 } }
)pb",
         {"t.pbtxt:2:46: record.rate[0].tau_ms = -2: must be > 0 (ms)"}},

        {"rate probe EXP with a window",
         R"pb(population { name: "A" size: 3 lif_delta {} }
record { rate { population: "A" interval_ms: 1 readout: EXP tau_ms: 5 window_ms: 10 } }
)pb",
         {"t.pbtxt:2:71: record.rate[0].window_ms = 10: is only used by readout COUNT, not EXP (ms)"}},

        {"SOFTPLUS rate function with membrane noise",
         R"pb(population { name: "A" size: 3 stochastic { noise_sigma_mV: 1 rate_function: SOFTPLUS } }
)pb",
         {"t.pbtxt:1:45: population \"A\".stochastic.noise_sigma_mV = 1: must be 0 with SOFTPLUS: spikes are drawn "
          "against a bound of rho(V), and a noisy V has none (mV)"}},

        {"rate probe MODEL on a population without a model rate",
         R"pb(population { name: "A" size: 3 lif_delta {} }
record {
  rate { population: "A" interval_ms: 1 readout: MODEL }
}
)pb",
         {"t.pbtxt:3:41: record.rate[0].readout = MODEL: needs a model with its own rate rho(V) (stochastic); "
          "population \"A\" is lif_delta"}},

        {"rate probe on a non-existent neuron",
         R"pb(population { name: "A" size: 3 lif_delta {} }
record {
  rate { population: "A" readout: EXP tau_ms: 5 interval_ms: 1 }
  rate { population: "A" neuron: 0 neuron: 3 readout: EXP tau_ms: 5 interval_ms: 1 }
}
)pb",
         {"t.pbtxt:4:36: record.rate[1].neuron[1] = 3: must be < the population size 3 (neuron index)"}},

        {"rate probe of an unknown population",
         R"pb(population { name: "A" size: 3 lif_delta {} }
record { rate { population: "X" interval_ms: 1 window_ms: 5 } }
)pb",
         {"t.pbtxt:2:17: record.rate[0].population = \"X\": no such population (known: A)"}},

        {"rate probe interval below the resolution",
         R"pb(run { resolution_ns: 1e6 }
population { name: "A" size: 3 lif_delta {} }
record { rate { population: "A" interval_ms: 0.5 window_ms: 2 } }
)pb",
         {"t.pbtxt:3:33: record.rate[0].interval_ms = 0.5: must be >= the resolution 1 (ms)"}},

        {"an element of a list-syntax field points at the list",
         R"pb(population { name: "E" size: 2 lif_delta {} }
record { voltage { population: "E" neuron: [0, 3] interval_ms: 1 } }
)pb",
         {"t.pbtxt:2:36: record.voltage[0].neuron[1] = 3: must be < the population size 2 (neuron index)"}},
    };

    CHECK(cases.size() >= 14);
    for (const auto& c : cases) {
        CAPTURE(c.what);
        CHECK_THROWS_AS((void)load_spec_text(c.text, "t.pbtxt"), SpecError);
        const std::string msg = error_of(c.text);
        CAPTURE(msg);
        for (const auto& f : c.fragments) CHECK_MESSAGE(contains(msg, f), "missing fragment: " << f);
        // One problem, one line.
        CHECK(lines_of(msg).size() == 1);
    }
}

// Errors about a repeated field as a whole (no population at all, too many
// neurons) have no single location; an element of one (record.spikes[0]) does.
// Regression: these once crashed inside protobuf instead of raising SpecError.
TEST_CASE("spec: errors on repeated fields as a whole are SpecErrors") {
    struct Bad {
        std::string what;
        const char* text;
        std::string fragment;
    };
    const std::vector<Bad> cases = {
        {"no population at all", R"pb(name: "empty")pb",
         "t.pbtxt: population: the spec has no population: expected at least one"},
        {"recording spikes of an unknown population",
         R"pb(population { name: "A" size: 3 lif_delta {} }
record { spikes: "X" }
)pb",
         "t.pbtxt:2:10: record.spikes[0] = \"X\": no such population (known: A)"},
        {"more than 2^32 - 1 neurons in total",
         R"pb(population { name: "A" size: 4294967295 lif_delta {} }
population { name: "B" size: 1 lif_delta {} }
)pb",
         "the total neuron count must be < 2^32"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.what);
        CHECK_THROWS_AS((void)load_spec_text(c.text, "t.pbtxt"), SpecError);
        const std::string msg = error_of(c.text);
        CAPTURE(msg);
        CHECK(contains(msg, c.fragment));
    }
}

// ---------------------------------------------------------------------------
// 3. All problems in a spec are reported, one line each, in spec order.

TEST_CASE("spec: several errors in one spec are all reported (one line each)") {
    const char* text = R"pb(run { duration_ms: -1 }
population { name: "E" size: 0 lif_delta { tau_m_ms: 0 } }
projection { source: "E" target: "nope" all_to_all {} weight_mV { constant: 1 } delay_ms { constant: 1 } }
record { voltage { population: "E" interval_ms: 0 } }
)pb";
    CHECK_THROWS_AS((void)load_spec_text(text, "t.pbtxt"), SpecError);
    const auto lines = lines_of(error_of(text));
    REQUIRE(lines.size() == 5);
    CHECK(contains(lines[0], "t.pbtxt:1:7: run.duration_ms = -1"));
    CHECK(contains(lines[1], "t.pbtxt:2:24: population \"E\".size = 0"));
    CHECK(contains(lines[2], "t.pbtxt:2:44: population \"E\".lif_delta.tau_m_ms = 0"));
    CHECK(contains(lines[3], "t.pbtxt:3:26: projection \"E->nope\".target = \"nope\": no such population (known: E)"));
    CHECK(contains(lines[4], "t.pbtxt:4:36: record.voltage[0].interval_ms = 0"));
    for (const auto& l : lines) CHECK(l.rfind("t.pbtxt:", 0) == 0);
}

// ---------------------------------------------------------------------------
// 4. Loading from files: text, binary, missing and garbage files.

TEST_CASE("spec: load_spec_file reads text specs and names the file in errors") {
    spikeem::test::TempDir dir;
    auto good = dir.write("good.pbtxt", "population { name: \"A\" size: 2 lif_delta {} }\n");
    auto loaded = load_spec_file(good.string());
    CHECK(loaded.origin == good.string());
    CHECK(loaded.spec.populations.at(0).size == 2u);
    // Same content as text: same hash.
    CHECK(loaded.hash == load_spec_text("population { name: \"A\" size: 2 lif_delta {} }\n", "x").hash);

    SpecOverrides o;
    o.seed = 5;
    CHECK(load_spec_file(good.string(), o).spec.run.seed == 5u);

    auto bad = dir.write("bad.pbtxt", "\npopulation { name: \"A\" size: 2 lif_delta { tau_m_ms: -1 } }\n");
    CHECK_THROWS_AS((void)load_spec_file(bad.string()), SpecError);
    CHECK(contains(file_error_of(bad.string()), bad.string() + ":2:44: population \"A\".lif_delta.tau_m_ms = -1"));
}

TEST_CASE("spec: load_spec_file on a missing file names the path") {
    spikeem::test::TempDir dir;
    const std::string path = (dir.path / "does_not_exist.pbtxt").string();
    CHECK_THROWS_AS((void)load_spec_file(path), SpecError);
    const std::string msg = file_error_of(path);
    CHECK(contains(msg, path));
    CHECK(contains(msg, "cannot open"));
}

TEST_CASE("spec: binary specs in .pb and .binpb files") {
    spikeem::test::TempDir dir;
    // Garbage: field 1 (name, length-delimited) claims 80 bytes but 3 follow.
    auto garbage = dir.write("x.pb", std::string("\x0a\x50" "abc", 5));
    CHECK_THROWS_AS((void)load_spec_file(garbage.string()), SpecError);
    const std::string msg = file_error_of(garbage.string());
    CHECK(contains(msg, garbage.string()));
    CHECK(contains(msg, "binary"));

    // A text spec in a .pb file is read as binary too, and fails.
    auto text_in_pb = dir.write("y.pb", "population { name: \"A\" size: 2 lif_delta {} }\n");
    CHECK(contains(file_error_of(text_in_pb.string()), "binary"));

    // A hand-encoded binary spec: population { name: "A" size: 2 lif_delta {} }
    //   Spec.population (3, LEN) = 0x1a, length 7:
    //     name (1, LEN) = 0x0a 0x01 'A'; size (2, VARINT) = 0x10 0x02; lif_delta (10, LEN) = 0x52 0x00
    const std::string bin("\x1a\x07\x0a\x01" "A" "\x10\x02\x52\x00", 9);
    auto good = dir.write("good.binpb", bin);
    auto loaded = load_spec_file(good.string());
    REQUIRE(loaded.spec.populations.size() == 1);
    CHECK(loaded.spec.populations[0].name == "A");
    CHECK(loaded.spec.populations[0].size == 2u);
    CHECK(std::holds_alternative<spikeem::LifDeltaParams>(loaded.spec.populations[0].model));
    CHECK(loaded.hash == load_spec_text("population { name: \"A\" size: 2 lif_delta {} }", "x").hash);

    // Validation errors in a binary spec have no line:column, only the file and the path.
    // population { name: "A" size: 2 lif_delta { tau_m_ms: -1 } }: tau_m_ms (1, I64) = 0x09 + 8 bytes of -1.0
    const std::string neg_tau("\x1a\x10\x0a\x01" "A" "\x10\x02\x52\x09\x09" "\x00\x00\x00\x00\x00\x00\xf0\xbf", 18);
    auto bad = dir.write("bad.pb", neg_tau);
    CHECK(contains(file_error_of(bad.string()),
                   bad.string() + ": population \"A\".lif_delta.tau_m_ms = -1: must be > 0 (ms)"));
}

TEST_CASE("spec: the shipped cuba_delta example is valid") {
    auto loaded = load_spec_file(std::string(SPIKEEM_SOURCE_DIR) + "/examples/benchmarks/cuba_delta.pbtxt");
    const auto& s = loaded.spec;
    CHECK(s.name == "cuba_delta");
    REQUIRE(s.populations.size() == 3);
    CHECK(s.populations[0].size == 3200u);
    CHECK(s.populations[1].size == 800u);
    CHECK(s.projections.size() == 5);
    CHECK(s.projections[4].name == "kick->E");
    CHECK(s.run.time_digits == 6);
}

TEST_CASE("spec: recording windows, spike probes and population rates convert to the domain structs") {
    const auto s = load_spec_text(R"pb(population { name: "A" size: 4 lif_delta {} }
population { name: "P" size: 2 poisson { rate_hz: 5 } }
record {
  spikes: "P"
  voltage { population: "A" interval_ms: 1 }
  voltage { population: "A" interval_ms: 2 start_ms: 3 stop_ms: 7.5 }
  rate { population: "A" interval_ms: 1 window_ms: 5 stop_ms: 20 }
  spike_probe { population: "A" neuron: [3, 1] start_ms: 2 }
  population_rate { population: "A" bin_ms: 2.5 }
  population_rate { population: "P" neuron: [1] bin_ms: 5 start_ms: 1 stop_ms: 31 }
}
)pb", "t.pbtxt").spec;
    const auto& r = s.record;
    const double inf = std::numeric_limits<double>::infinity();
    REQUIRE(r.voltage_windows.size() == 2);
    CHECK(r.voltage_windows[0].start_ms == 0.0);
    CHECK(r.voltage_windows[0].stop_ms == inf);
    CHECK(r.voltage_windows[1].start_ms == 3.0);
    CHECK(r.voltage_windows[1].stop_ms == 7.5);
    REQUIRE(r.rate_windows.size() == 1);
    CHECK(r.rate_windows[0].start_ms == 0.0);
    CHECK(r.rate_windows[0].stop_ms == 20.0);
    CHECK(r.weight_windows.empty());
    REQUIRE(r.spike_probes.size() == 1);
    CHECK(r.spike_probes[0].population == "A");
    CHECK(r.spike_probes[0].neurons == std::vector<std::uint32_t>{3, 1});
    CHECK(r.spike_probes[0].window.start_ms == 2.0);
    CHECK(r.spike_probes[0].window.stop_ms == inf);
    REQUIRE(r.population_rates.size() == 2);
    CHECK(r.population_rates[0].population == "A");
    CHECK(r.population_rates[0].neurons.empty());
    CHECK(r.population_rates[0].bin_ms == 2.5);
    CHECK(r.population_rates[1].neurons == std::vector<std::uint32_t>{1});
    CHECK(r.population_rates[1].window.start_ms == 1.0);
    CHECK(r.population_rates[1].window.stop_ms == 31.0);
}

TEST_CASE("spec: malformed recording windows, spike probes and population rates are rejected naming the field") {
    struct Bad {
        std::string what;
        const char* text;
        std::string fragment;
    };
    const std::vector<Bad> cases = {
        {"population rate with a zero bin",
         R"pb(population { name: "A" size: 3 lif_delta {} }
record { population_rate { population: "A" bin_ms: 0 } }
)pb",
         "t.pbtxt:2:44: record.population_rate[0].bin_ms = 0: must be >= the resolution 1e-06 (ms)"},
        {"population rate with a negative bin",
         R"pb(population { name: "A" size: 3 lif_delta {} }
record { population_rate { population: "A" bin_ms: -5 } }
)pb",
         "t.pbtxt:2:44: record.population_rate[0].bin_ms = -5: must be >= the resolution 1e-06 (ms)"},
        {"population rate without a bin",
         R"pb(population { name: "A" size: 3 lif_delta {} }
record { population_rate { population: "A" } }
)pb",
         "record.population_rate[0].bin_ms = 0: must be >= the resolution 1e-06 (ms)"},
        {"population rate stopping where it starts",
         R"pb(population { name: "A" size: 3 lif_delta {} }
record { population_rate { population: "A" bin_ms: 1 start_ms: 10 stop_ms: 10 } }
)pb",
         "t.pbtxt:2:67: record.population_rate[0].stop_ms = 10: must be > start_ms 10 (ms)"},
        {"population rate on a non-existent neuron",
         R"pb(population { name: "A" size: 3 lif_delta {} }
record { population_rate { population: "A" neuron: [0, 3] bin_ms: 1 } }
)pb",
         "t.pbtxt:2:44: record.population_rate[0].neuron[1] = 3: must be < the population size 3 (neuron index)"},
        {"population rate listing a neuron twice",
         R"pb(population { name: "A" size: 3 lif_delta {} }
record { population_rate { population: "A" neuron: [2, 0, 2] bin_ms: 1 } }
)pb",
         "t.pbtxt:2:44: record.population_rate[0].neuron[2] = 2: is listed twice"},
        {"population rate of an unknown population",
         R"pb(population { name: "A" size: 3 lif_delta {} }
record { population_rate { population: "B" bin_ms: 1 } }
)pb",
         "t.pbtxt:2:28: record.population_rate[0].population = \"B\": no such population (known: A)"},
        {"voltage probe stopping before it starts",
         R"pb(population { name: "A" size: 3 lif_delta {} }
record { voltage { population: "A" interval_ms: 1 start_ms: 5 stop_ms: 2 } }
)pb",
         "t.pbtxt:2:63: record.voltage[0].stop_ms = 2: must be > start_ms 5 (ms)"},
        {"voltage probe stopping at 0",
         R"pb(population { name: "A" size: 3 lif_delta {} }
record { voltage { population: "A" interval_ms: 1 stop_ms: 0 } }
)pb",
         "t.pbtxt:2:51: record.voltage[0].stop_ms = 0: must be > start_ms 0 (ms)"},
        {"rate probe starting before 0",
         R"pb(population { name: "A" size: 3 lif_delta {} }
record { rate { population: "A" interval_ms: 1 window_ms: 5 start_ms: -1 } }
)pb",
         "t.pbtxt:2:61: record.rate[0].start_ms = -1: must be >= 0 (ms)"},
        {"weight probe with an infinite stop",
         R"pb(population { name: "A" size: 3 lif_delta {} }
projection { source: "A" target: "A" all_to_all {} weight_mV { constant: 1 } delay_ms { constant: 1 } }
record { weights { projection: "A->A" interval_ms: 1 stop_ms: inf } }
)pb",
         "t.pbtxt:3:54: record.weights[0].stop_ms = inf: must be a finite number (ms)"},
        {"spike probe on a non-existent neuron",
         R"pb(population { name: "A" size: 3 lif_delta {} }
record { spike_probe { population: "A" neuron: [0, 3] } }
)pb",
         "t.pbtxt:2:40: record.spike_probe[0].neuron[1] = 3: must be < the population size 3 (neuron index)"},
        {"spike probe listing a neuron twice",
         R"pb(population { name: "A" size: 3 lif_delta {} }
record { spike_probe { population: "A" neuron: [1, 1] } }
)pb",
         "t.pbtxt:2:40: record.spike_probe[0].neuron[1] = 1: is listed twice"},
        {"spike probe on a population recorded in full",
         R"pb(population { name: "A" size: 3 lif_delta {} }
record { spikes: "A" spike_probe { population: "A" neuron: [1] } }
)pb",
         "t.pbtxt:2:36: record.spike_probe[0].population = \"A\": is recorded in full by record.spikes already"},
        {"spike probe stopping where it starts",
         R"pb(population { name: "A" size: 3 lif_delta {} }
record { spike_probe { population: "A" start_ms: 4 stop_ms: 4 } }
)pb",
         "t.pbtxt:2:52: record.spike_probe[0].stop_ms = 4: must be > start_ms 4 (ms)"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.what);
        const std::string msg = error_of(c.text);
        CAPTURE(msg);
        CHECK(contains(msg, c.fragment));
        CHECK(lines_of(msg).size() == 1);
    }
}

TEST_CASE("spec: rate tables and spike files convert to the domain structs") {
    const auto loaded = load_spec_text(R"pb(
population { name: "P" size: 2 poisson { rate_table { t_ms: [10, 20.5] rate_hz: [3, 0] } stop_ms: 50 } }
population { name: "S" size: 1 spike_times {} }
)pb");
    const auto& pp = std::get<spikeem::PoissonParams>(loaded.spec.populations[0].model);
    CHECK(pp.rate_table.t_ms == std::vector<double>{10, 20.5});
    CHECK(pp.rate_table.rate_hz == std::vector<double>{3, 0});
    CHECK(pp.rate_hz == 0.0);
    CHECK(pp.stop_ms == 50.0);
    CHECK(loaded.input_files.empty());
    // An inline table's problems name the element (tests/test_file_inputs.cpp: files).
    CHECK(error_of("population { name: \"P\" size: 2 poisson { rate_table { t_ms: [0, 0] rate_hz: [1, 1] } } }") ==
          "t.pbtxt:1:55: population \"P\".poisson.rate_table.t_ms[1] = 0: must be > the previous t_ms = 0 (strictly "
          "increasing) (ms)");
}

TEST_CASE("spec: inhibitory_stdp converts, and plastic inhibitory weights need signed bounds") {
    using spikeem::efficacy_sign, spikeem::InhibitoryStdpParams, spikeem::PlasticitySpec, spikeem::io::LoadedSpec;
    const std::string head = R"pb(population { name: "I" size: 3 lif_exp {} }
population { name: "E" size: 2 lif_exp {} }
)pb";
    auto proj = [&](const std::string& weight, const std::string& plasticity) {
        return head + "projection { source: \"I\" target: \"E\" all_to_all {} weight_mV { " + weight +
               " } delay_ms { constant: 1 } plasticity { " + plasticity + " } }\n";
    };
    const std::string rule = "inhibitory_stdp { eta_mV: 0.01 target_rate_hz: 5 }";
    const LoadedSpec ok = load_spec_text(proj("constant: -0.3", rule + " w_min_mV: -10 w_max_mV: 0"), "t.pbtxt");
    const PlasticitySpec& ps = *ok.spec.projections.at(0).plasticity;
    const auto& q = std::get<InhibitoryStdpParams>(ps.rule);
    CHECK(q.eta_mV == 0.01);
    CHECK(q.tau_ms == 20.0);  // the default, the paper's
    CHECK(q.target_rate_hz == 5.0);
    CHECK(q.alpha() == doctest::Approx(0.2));
    CHECK(ps.w_min_mV == -10.0);
    CHECK(ps.w_max_mV == 0.0);
    CHECK(efficacy_sign(ps) == -1.0);
    // Positive weights with the default bounds: strength = w, as for every rule.
    const LoadedSpec pos = load_spec_text(proj("constant: 0.3", rule), "t.pbtxt");
    CHECK(efficacy_sign(*pos.spec.projections.at(0).plasticity) == 1.0);
    // The Eq. 1 rules change w itself, whatever the bounds.
    const LoadedSpec slope = load_spec_text(
        proj("constant: -0.3", "rate_slope { eta_mV_ms: 1 tau_pre_ms: 20 tau_post_ms: 20 } w_max_mV: 0"), "t.pbtxt");
    CHECK(efficacy_sign(*slope.spec.projections.at(0).plasticity) == 1.0);

    struct Bad {
        const char* what;
        std::string text;
        std::vector<std::string> fragments;
    };
    const std::vector<Bad> cases = {
        {"negative eta", proj("constant: -0.3", "inhibitory_stdp { eta_mV: -0.01 target_rate_hz: 5 } w_min_mV: -10 w_max_mV: 0"),
         {"t.pbtxt:3:", "projection \"I->E\".plasticity.inhibitory_stdp.eta_mV = -0.01: must be >= 0 (mV"}},
        {"eta missing", proj("constant: -0.3", "inhibitory_stdp { target_rate_hz: 5 } w_min_mV: -10 w_max_mV: 0"),
         {"projection \"I->E\".plasticity.inhibitory_stdp.eta_mV: missing: the learning rate (mV)"}},
        {"zero tau", proj("constant: -0.3", "inhibitory_stdp { eta_mV: 0.01 tau_ms: 0 target_rate_hz: 5 } w_min_mV: -10 w_max_mV: 0"),
         {"projection \"I->E\".plasticity.inhibitory_stdp.tau_ms = 0: must be > 0 (ms)"}},
        {"negative target rate", proj("constant: -0.3", "inhibitory_stdp { eta_mV: 0.01 target_rate_hz: -5 } w_min_mV: -10 w_max_mV: 0"),
         {"projection \"I->E\".plasticity.inhibitory_stdp.target_rate_hz = -5: must be >= 0 and finite (Hz)"}},
        {"infinite target rate", proj("constant: -0.3", "inhibitory_stdp { eta_mV: 0.01 target_rate_hz: inf } w_min_mV: -10 w_max_mV: 0"),
         {"target_rate_hz = inf: must be >= 0 and finite (Hz)"}},
        {"target rate missing", proj("constant: -0.3", "inhibitory_stdp { eta_mV: 0.01 } w_min_mV: -10 w_max_mV: 0"),
         {"plasticity.inhibitory_stdp.target_rate_hz: missing: the target postsynaptic rate rho_0 (Hz)"}},
        {"multiplicative", proj("constant: -0.3", rule + " weight_dependence { multiplicative {} } w_min_mV: -10 w_max_mV: 0"),
         {"projection \"I->E\".plasticity.weight_dependence: must be additive for voltage_slope, rate_slope and "
          "inhibitory_stdp"}},
        {"negative initial weights under the default w_min_mV 0", proj("uniform { low: -0.3 high: -0.1 }", rule),
         {"projection \"I->E\".plasticity: initial weights range over [-0.3, -0.1] mV, outside the bounds [0, inf] mV",
          "the initial weight -0.3 mV is below w_min_mV = 0 (the default); an inhibitory plastic projection",
          "set projection \"I->E\".plasticity.w_min_mV <= -0.3 and projection \"I->E\".plasticity.w_max_mV <= 0",
          "e.g. w_min_mV: -10 w_max_mV: 0"}},
        {"negative weights below a given w_min_mV (pair_stdp)",
         proj("constant: -12", "pair_stdp { a_plus_mV: 0.01 a_minus_mV: 0.01 tau_plus_ms: 20 tau_minus_ms: 20 } "
                               "w_min_mV: -5 w_max_mV: 0"),
         {"the initial weight -12 mV is below w_min_mV = -5;", "e.g. w_min_mV: -20 w_max_mV: 0"}},
        {"negative weights with w_min_mV but no w_max_mV", proj("constant: -0.3", rule + " w_min_mV: -10"),
         {"projection \"I->E\".plasticity.w_max_mV: missing: the initial weights are all negative (up to -0.3 mV)",
          "set projection \"I->E\".plasticity.w_max_mV: 0"}},
        {"mixed weights below the default w_min_mV", proj("uniform { low: -0.3 high: 0.5 }", rule),
         {"the initial weight -0.3 mV is below w_min_mV = 0 (the default): set projection \"I->E\".plasticity.w_min_mV <= -0.3"}},
        {"weights above w_max_mV", proj("constant: 0.7", rule + " w_max_mV: 0.5"),
         {"the initial weight 0.7 mV is above w_max_mV = 0.5: set projection \"I->E\".plasticity.w_max_mV >= 0.7"}},
    };
    for (const auto& c : cases) {
        CAPTURE(c.what);
        CHECK_THROWS_AS((void)load_spec_text(c.text, "t.pbtxt"), SpecError);
        const std::string msg = error_of(c.text);
        CAPTURE(msg);
        for (const auto& f : c.fragments) CHECK_MESSAGE(contains(msg, f), "missing fragment: " << f);
        CHECK(lines_of(msg).size() == 1);
    }
}

TEST_CASE("spec: an energy objective over a poisson input with too few rates_hz reports the count only") {
    // The rate check of the energy objective looked at one rate per neuron even when the
    // list was short (a read past its end); now only the population's own count check speaks.
    std::ifstream in(std::string(SPIKEEM_SOURCE_DIR) + "/examples/gradient_alignment/energy.pbtxt");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string full = "rates_hz: [820, 140, 560, 330, 710, 260, 450, 900]";
    REQUIRE(text.find(full) != std::string::npos);
    text.replace(text.find(full), full.size(), "rates_hz: [820, 140]");
    const std::string msg = error_of(text);
    CAPTURE(msg);
    CHECK(contains(msg, "poisson.rates_hz: has 2 values: expected one per neuron, 8"));
    CHECK(lines_of(msg).size() == 1);
    // A rate table is not a constant rate.
    std::string table = text;
    table.replace(table.find("rates_hz: [820, 140]"), 20, "rate_table { t_ms: [0] rate_hz: [100] }");
    CHECK(contains(error_of(table), "the input layer must be a poisson population with constant rates"));
}

TEST_CASE("spec: a duration shorter than one tick is refused") {
    const std::string pop = "population { name: \"n\" size: 1 lif_delta {} }\n";
    const std::string msg = error_of("run { duration_ms: 0.0000001 }\n" + pop);
    CAPTURE(msg);
    CHECK(contains(msg, "run.duration_ms = 1e-07: must be at least the resolution 1e-06 (one tick; ms)"));
    CHECK(error_of("run { duration_ms: 0.000001 }\n" + pop) == "<no error>");
    SpecOverrides o;
    o.duration_ms = 1e-9;
    CHECK(contains(error_of(pop, o), "(--duration-ms) run.duration_ms = 1e-09: must be at least the resolution"));
}
