#include <doctest/doctest.h>
// Tests of the messages a newcomer meets first: parse errors with a hint on
// how to fix them (io/loader/validator.hpp parse_hint), the missing SPEC
// argument of run and validate (io/cli_common.hpp), and the warnings about
// valid specs that are probably mistakes (io/spec_warnings.hpp).
//
// Line:column numbers are counted by hand from the spec texts (1-based).

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli_helpers.hpp"
#include "io/loader/validator.hpp"
#include "io/spec_loader.hpp"
#include "io/spec_warnings.hpp"

using spikeem::io::load_spec_file;
using spikeem::io::load_spec_text;
using spikeem::io::spec_warnings;
using spikeem::io::SpecError;
using spikeem::io::loader::near_field_names;
using spikeem::io::loader::parse_hint;
using spikeem::test::sh;
using spikeem::test::slurp;

namespace {

std::string error_of(const std::string& text) {
    try {
        (void)load_spec_text(text, "t.pbtxt");
    } catch (const SpecError& e) {
        return e.what();
    }
    return "<no error>";
}

bool has(const std::string& s, const std::string& fragment) { return s.find(fragment) != std::string::npos; }

std::vector<std::string> warnings_of(const std::string& text) {
    return spec_warnings(load_spec_text(text, "t.pbtxt").spec);
}

// A lif_delta population "E" that is recorded, for specs that should warn about one thing only.
const std::string kRecordedE = R"pb(
record { spikes: "E" }
)pb";

}  // namespace

TEST_CASE("a number given to a Distribution field: the hint writes it as a constant") {
    const std::string e = error_of(R"pb(population { name: "A" size: 1 lif_delta {} }
projection {
  source: "A" target: "A" all_to_all {}
  weight_mV: 0.2
}
)pb");
    INFO(e);
    CHECK(e == "t.pbtxt:4:14: Expected \"{\", found \"0.2\": weight_mV is a Distribution: write "
               "weight_mV { constant: 0.2 } (or uniform { low: .. high: .. }, normal { mean: .. std: .. })");

    const std::string negative = error_of("projection { delay_ms: 1.5 weight_mV: -0.5 }\n");
    INFO(negative);
    CHECK(has(negative, "t.pbtxt:1:24: Expected \"{\", found \"1.5\": delay_ms is a Distribution: write "
                        "delay_ms { constant: 1.5 }"));
    CHECK(has(error_of("projection { weight_mV: -0.5 }\n"), "write weight_mV { constant: -0.5 }"));
}

TEST_CASE("a number given to another message field: the hint names its type") {
    const std::string e = error_of("population { name: \"A\" size: 1 lif_delta: 1 }\n");
    INFO(e);
    CHECK(has(e, "t.pbtxt:1:43: Expected \"{\", found \"1\": lif_delta is a message (LifDelta): write "
                 "lif_delta { ... }"));
}

TEST_CASE("an unknown field name: the hint names the nearest fields") {
    const std::string stdp = error_of(R"pb(projection {
  plasticity { pair_stdp { tau_plus: 20 } }
}
)pb");
    INFO(stdp);
    CHECK(stdp == "t.pbtxt:2:36: Message type \"spikeem.proto.PairStdp\" has no field named \"tau_plus\": did you "
                  "mean \"tau_plus_ms\"?");
    // A wrong unit suffix is one or two edits away.
    CHECK(has(error_of("population { lif_delta { tau_m_s: 20 } }\n"),
              "has no field named \"tau_m_s\": did you mean \"tau_m_ms\"?"));
    CHECK(has(error_of("population { poisson { rate: 5 } }\n"), "no field named \"rate\": did you mean \"rate_hz\"?"));
    CHECK(has(error_of("populaton { name: \"A\" }\n"),
              "Message type \"spikeem.proto.Spec\" has no field named \"populaton\": did you mean \"population\"?"));
    CHECK(has(error_of("projection { weight_mv { constant: 1 } }\n"),
              "no field named \"weight_mv\": did you mean \"weight_mV\"?"));
}

TEST_CASE("an unknown enum value: the hint lists the values") {
    const std::string e = error_of("projection { plasticity { pair_stdp { pairing: ALL } } }\n");
    INFO(e);
    CHECK(e == "t.pbtxt:1:52: Unknown enumeration value of \"ALL\" for field \"pairing\": expected ALL_TO_ALL, "
               "NEAREST_SYMMETRIC or NEAREST_PRESYNAPTIC_CENTRED");
}

TEST_CASE("an unknown field name far from every field: the hint lists the fields") {
    const std::string e = error_of("population { lif_delta { xyzzy: 20 } }\n");
    INFO(e);
    CHECK(has(e, "has no field named \"xyzzy\": the fields of LifDelta are tau_m_ms, v_rest_mV,"));
    CHECK(!has(e, "did you mean"));
}

TEST_CASE("near_field_names: edit distance within max(2, length / 3), unit suffixes first") {
    CHECK(near_field_names("spikeem.proto.PairStdp", "tau_plus") == std::vector<std::string>{"tau_plus_ms"});
    // Length 10: distance <= 3; "tau_plus_m" is 1 from tau_plus_ms, 3 from a_plus_mV, 4 from tau_minus_ms.
    CHECK(near_field_names("spikeem.proto.PairStdp", "tau_plus_m") ==
          std::vector<std::string>{"tau_plus_ms", "a_plus_mV"});
    // "tau_minus" is 3 edits from "tau_plus_ms" but only lacks the suffix of "tau_minus_ms".
    CHECK(near_field_names("spikeem.proto.PairStdp", "tau_minus") == std::vector<std::string>{"tau_minus_ms"});
    // Length 3: distance <= 2; "sze" is 1 from "size" and 3 from "name".
    CHECK(near_field_names("spikeem.proto.Population", "sze") == std::vector<std::string>{"size"});
    // Equally near: schema order.
    CHECK(near_field_names("spikeem.proto.LifExp", "tau_x_ms") ==
          std::vector<std::string>{"tau_m_ms", "tau_e_ms", "tau_i_ms"});
    CHECK(near_field_names("spikeem.proto.PairStdp", "xyzzy").empty());
    CHECK(near_field_names("spikeem.proto.NoSuchType", "tau_plus").empty());
}

TEST_CASE("no hint where none applies") {
    const std::string syntax = error_of("run { duration_ms: }\npopulation { name: \"A\" size: 1 lif_delta {} }\n");
    INFO(syntax);
    CHECK(has(syntax, "t.pbtxt:1:20: Expected"));
    CHECK(!has(syntax, "did you mean"));
    CHECK(!has(syntax, "write"));
    CHECK(parse_hint("Expected integer, got: x", "", 0) == "Expected integer, got: x");
    // The "{" of a message field that is not in the line (value on the next line): no guess.
    CHECK(parse_hint("Expected \"{\", found \"0.2\".", "projection {\n  weight_mV:\n 0.2 }", 2) ==
          "Expected \"{\", found \"0.2\".");
    CHECK(parse_hint("Message type \"other.Type\" has no field named \"x\".", "", 0) ==
          "Message type \"other.Type\" has no field named \"x\".");
}

TEST_CASE("spikeem run and validate without SPEC name the missing argument, exit 2") {
    const auto run = sh("run --out " + (std::filesystem::temp_directory_path() / "spikeem_hints_none").string());
    INFO(run.out);
    CHECK(run.status == 2);
    CHECK(has(run.out, "spikeem: run: missing SPEC (the spec file to run); usage: spikeem run SPEC --out DIR "
                       "[options] (spikeem run --help lists the options)"));
    CHECK(!has(run.out, "--spec"));

    const auto validate = sh("validate");
    INFO(validate.out);
    CHECK(validate.status == 2);
    CHECK(has(validate.out, "spikeem: validate: missing SPEC (the spec file to check); usage: spikeem validate SPEC "
                            "[options]"));
    CHECK(!has(validate.out, "--spec"));
}

TEST_CASE("spec_warnings: a spec that records nothing") {
    const std::string spec = R"pb(population { name: "E" size: 2 lif_delta {} })pb";
    CHECK(warnings_of(spec) ==
          std::vector<std::string>{"records nothing: add record { spikes: \"E\" } (or a spike_probe, voltage, rate or "
                                   "population_rate probe) for output beyond the summary"});
    CHECK(warnings_of(spec + kRecordedE).empty());
    CHECK(warnings_of(spec + R"pb( record { spike_probe { population: "E" } })pb").empty());
}

TEST_CASE("spec_warnings: time constants below 0.1 ms") {
    CHECK(warnings_of(R"pb(population { name: "E" size: 2 lif_delta { tau_m_ms: 0.02 } })pb" + kRecordedE) ==
          std::vector<std::string>{"population \"E\": lif_delta.tau_m_ms = 0.02 ms is below 0.1 ms: was it given in "
                                   "seconds? (time constants are in ms: 20 ms is tau_m_ms: 20)"});
    CHECK(warnings_of(R"pb(population { name: "E" size: 2 lif_delta { tau_m_ms: 0.1 } })pb" + kRecordedE).empty());
    const std::string plastic = R"pb(population { name: "E" size: 2 lif_delta {} }
projection {
  source: "E" target: "E" all_to_all {} weight_mV { constant: 1 } delay_ms { constant: 1 }
  plasticity { pair_stdp { a_plus_mV: 0.01 a_minus_mV: 0.01 tau_plus_ms: 0.02 tau_minus_ms: 20 } w_max_mV: 2 }
})pb";
    // A plastic projection writes its final weights: no "records nothing".
    CHECK(warnings_of(plastic) ==
          std::vector<std::string>{"projection \"E->E\": pair_stdp.tau_plus_ms = 0.02 ms is below 0.1 ms: was it "
                                   "given in seconds? (time constants are in ms: 20 ms is tau_plus_ms: 20)"});
}

TEST_CASE("spec_warnings: Poisson rates above 10 kHz") {
    const std::string e = R"pb(population { name: "E" size: 2 lif_delta {} })pb";
    CHECK(warnings_of(e + R"pb(population { name: "P" size: 2 poisson { rate_hz: 20000 } })pb" + kRecordedE) ==
          std::vector<std::string>{"population \"P\": poisson.rate_hz = 20000 Hz is above 10 kHz for one Poisson "
                                   "train: check the unit (Hz, not per ms); many sources into each neuron are "
                                   "poisson_input { rate_hz: R sources: N }"});
    const auto list = warnings_of(
        e + R"pb(population { name: "P" size: 4 poisson { rates_hz: [5, 20000, 9000, 30000] } })pb" + kRecordedE);
    REQUIRE(list.size() == 1);
    CHECK(has(list[0], "population \"P\": poisson.rates_hz[1] (and 1 more) = 20000 Hz is above 10 kHz"));
    const auto input = warnings_of(
        e + R"pb(poisson_input { target: "E" rate_hz: 20000 weight_mV: 0.1 })pb" + kRecordedE);
    REQUIRE(input.size() == 1);
    CHECK(has(input[0], "poisson_input \"E.poisson_input[0]\": rate_hz = 20000 Hz is above 10 kHz"));
    // 10 kHz itself, and a merged drive of 9 kHz, are plausible.
    CHECK(warnings_of(e + R"pb(population { name: "P" size: 2 poisson { rate_hz: 10000 } })pb" + kRecordedE).empty());
    CHECK(warnings_of(e + R"pb(poisson_input { target: "E" rate_hz: 11.25 sources: 800 weight_mV: 0.1 })pb" +
                      kRecordedE)
              .empty());
}

TEST_CASE("spec_warnings: none for the examples a newcomer starts from") {
    for (const char* file : {"examples/benchmarks/cuba_delta.pbtxt", "examples/first_network/first_network.pbtxt",
                             "examples/benchmarks/brunel_plastic.pbtxt"}) {
        INFO(file);
        CHECK(spec_warnings(load_spec_file(std::string(SPIKEEM_SOURCE_DIR) + "/" + file).spec).empty());
    }
}

TEST_CASE("spikeem validate prints the warnings on stderr and exits 0") {
    namespace fs = std::filesystem;
    const fs::path dir = spikeem::test::fresh_dir("hints_validate");
    fs::create_directories(dir);
    const fs::path spec = dir / "tau.pbtxt";
    std::ofstream(spec) << R"pb(population { name: "E" size: 2 lif_delta { tau_m_ms: 0.02 } })pb";
    const std::string cmd = std::string(SPIKEEM_BINARY) + " validate " + spec.string() + " > " +
                            (dir / "out").string() + " 2> " + (dir / "err").string();
    const int rc = std::system(cmd.c_str());
    REQUIRE(WIFEXITED(rc));
    CHECK(WEXITSTATUS(rc) == 0);
    const std::string err = slurp(dir / "err");
    const std::string out = slurp(dir / "out");
    INFO(err);
    CHECK(has(err, "warning: " + spec.string() + ": records nothing: add record { spikes: \"E\" }"));
    CHECK(has(err, "warning: " + spec.string() + ": population \"E\": lif_delta.tau_m_ms = 0.02 ms is below 0.1 ms"));
    CHECK(has(out, spec.string() + ": valid (1 populations, 2 neurons"));
    CHECK(!has(out, "warning"));
    fs::remove_all(dir);

    const auto clean = sh("validate " + std::string(SPIKEEM_SOURCE_DIR) + "/examples/benchmarks/cuba_delta.pbtxt");
    CHECK(clean.status == 0);
    CHECK(!has(clean.out, "warning"));
}
