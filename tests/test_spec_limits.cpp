#include <doctest/doctest.h>
#include <fmt/format.h>
// Tests of the spec loader's limits: values that the loader once accepted
// although they overflow the 64-bit tick, run for ever, record nothing or
// print without bound are refused at load time, with the field path, the
// value and the largest (or smallest) allowed value with its unit.

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <filesystem>
#include <fstream>
#include <string>

#include <google/protobuf/unknown_field_set.h>

#include "cli_helpers.hpp"
#include "io/spec_loader.hpp"
#include "io/spikeem.pb.h"
#include "network/simulation.hpp"

using spikeem::io::load_spec_binary;
using spikeem::io::load_spec_file;
using spikeem::io::load_spec_text;
using spikeem::io::SpecError;

namespace {

// The SpecError message for `text`, or "<no error>" when it loads.
std::string error_of(const std::string& text) {
    try {
        (void)load_spec_text(text, "t.pbtxt");
    } catch (const SpecError& e) {
        return e.what();
    } catch (const std::exception& e) {
        return std::string("<not a SpecError: ") + e.what() + ">";
    }
    return "<no error>";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A spec at 1 ns resolution with `extra` appended: one lif_delta population "E" of 2 neurons.
std::string spec(const std::string& extra, const std::string& model = "lif_delta {}") {
    return "run { duration_ms: 10 resolution_ns: 1 }\npopulation { name: \"E\" size: 2 " + model + " }\n" + extra;
}

// The largest time allowed at 1 ns: 10^17 ticks of 10^-6 ms.
const std::string kLargestTime = "must be <= 100000000000 (10^17 ticks at the resolution 1e-06 ms";

}  // namespace

TEST_CASE("limits: times beyond what the tick can count are refused with the largest allowed one") {
    // 1e308 ms delays once arrived after 1 ns; spike times came out negative.
    const std::string delay = error_of(spec(
        "projection { source: \"E\" target: \"E\" all_to_all {} weight_mV { constant: 1 } delay_ms { constant: 1e308 } "
        "}\n"));
    CHECK(contains(delay, "t.pbtxt:3:89: projection \"E->E\".delay_ms.constant = 1e+308: " + kLargestTime));
    CHECK(contains(error_of(spec("projection { source: \"E\" target: \"E\" all_to_all {} weight_mV { constant: 1 } "
                                 "delay_ms { uniform { low: 1 high: 1e300 } } }\n")),
                   "projection \"E->E\".delay_ms.uniform.high = 1e+300: " + kLargestTime));
    const std::string train = error_of(spec("population { name: \"S\" size: 1 spike_times { train { neuron: 0 t_ms: "
                                            "[1, 1e308] } } }\n"));
    CHECK(contains(train, "population \"S\".spike_times.train[0].t_ms[1] = 1e+308: " + kLargestTime));
    const std::string t_ref = error_of(spec("", "lif_delta { t_ref_ms: 1e308 }"));
    CHECK(contains(t_ref, "t.pbtxt:2:44: population \"E\".lif_delta.t_ref_ms = 1e+308: " + kLargestTime));
    const std::string start = error_of(spec("population { name: \"P\" size: 1 poisson { rate_hz: 1 start_ms: 1e308 } }\n"));
    CHECK(contains(start, "population \"P\".poisson.start_ms = 1e+308: " + kLargestTime));
    const std::string probe = error_of(spec("record { voltage { population: \"E\" interval_ms: 1e308 } }\n"));
    CHECK(contains(probe, "record.voltage[0].interval_ms = 1e+308: " + kLargestTime));
    const std::string window = error_of(spec(
        "projection { source: \"E\" target: \"E\" all_to_all {} weight_mV { constant: 1 } delay_ms { constant: 1 } "
        "plasticity { voltage_slope { window_ms: 1e308 } } }\n"));
    CHECK(contains(window, "projection \"E->E\".plasticity.voltage_slope.window_ms = 1e+308: " + kLargestTime));
    // A window shorter than a tick holds none.
    CHECK(contains(error_of(spec("record { spike_probe { population: \"E\" start_ms: 1 stop_ms: 1.0000001 } }\n")),
                   "record.spike_probe[0].stop_ms = 1.0000001: must be at least one tick after start_ms = 1"));
    // At 1 ps the same 10^17 ticks are 10^8 ms.
    CHECK(contains(error_of("run { duration_ms: 10 resolution_ns: 0.001 }\npopulation { name: \"E\" size: 2 lif_delta "
                            "{ t_ref_ms: 2e8 } }\n"),
                   "population \"E\".lif_delta.t_ref_ms = 200000000: must be <= 100000000 (10^17 ticks at the "
                   "resolution 1e-09 ms"));
}

TEST_CASE("limits: times and rates read from files are bounded too") {
    const std::filesystem::path dir = std::filesystem::temp_directory_path() / "spikeem_test_spec_limits";
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "late.csv") << "neuron,t_ms\n0,1\n0,1e300\n";
    std::ofstream(dir / "fast.csv") << "t_ms,rate_hz\n0,1\n5,3e9\n";
    const std::string text = spec("population { name: \"S\" size: 1 spike_times { file: \"late.csv\" } }\n"
                                  "population { name: \"P\" size: 1 poisson { rate_table { file: \"fast.csv\" } } }\n");
    std::string message = "<no error>";
    try {
        (void)load_spec_text(text, "t.pbtxt", {}, dir.string());
    } catch (const SpecError& e) {
        message = e.what();
    }
    std::filesystem::remove_all(dir);
    CHECK(contains(message, "population \"S\".spike_times.file = \"late.csv\": neuron 0: t_ms = 1e+300: " + kLargestTime));
    CHECK(contains(message, "population \"P\".poisson.rate_table.file = \"fast.csv\": row 2: rate_hz = 3000000000: must "
                            "be < 1000000000 (one event per tick"));
}

TEST_CASE("limits: neuron time constants below the resolution are refused") {
    CHECK(contains(error_of(spec("", "lif_delta { tau_m_ms: 1e-7 }")),
                   "t.pbtxt:2:44: population \"E\".lif_delta.tau_m_ms = 1e-07: must be >= the resolution 1e-06 "
                   "(one tick) (ms)"));
    CHECK(contains(error_of(spec("", "lif_exp { tau_e_ms: 5e-7 }")),
                   "population \"E\".lif_exp.tau_e_ms = 5e-07: must be >= the resolution 1e-06 (one tick) (ms)"));
    CHECK(error_of(spec("", "lif_delta { tau_m_ms: 1e-6 }")) == "<no error>");
    // A spread reaching below a tick is refused too (per_neuron checks its corners with the model's own rules).
    CHECK(contains(error_of(spec("", "lif_delta {} per_neuron { parameter: \"tau_m_ms\" value { uniform { low: 1e-7 "
                                     "high: 10 } } }")),
                   "population \"E\".per_neuron[0].value.uniform.low = 1e-07: must be >= the resolution 1e-06 (one "
                   "tick) (ms)"));
}

TEST_CASE("limits: rates of one event per tick or more are refused") {
    // At 1 ns one event per tick is 10^9 Hz.
    CHECK(contains(error_of(spec("population { name: \"P\" size: 1 poisson { rate_hz: 2e9 } }\n")),
                   "population \"P\".poisson.rate_hz = 2000000000: must be < 1000000000 (one event per tick at "
                   "the resolution 1e-06 ms) (Hz)"));
    CHECK(contains(error_of(spec("", "stochastic { rho_max_hz: 1e300 }")),
                   "population \"E\".stochastic.rho_max_hz = 1e+300: must be < 1000000000 (one event per tick at "
                   "the resolution 1e-06 ms) (Hz)"));
    CHECK(contains(error_of(spec("population { name: \"P\" size: 2 poisson { rates_hz: [1, 1e9] } }\n")),
                   "population \"P\".poisson.rates_hz[1] = 1000000000: must be < 1000000000"));
}

TEST_CASE("limits: a weight probe on a pair without a synapse is refused") {
    const std::string proj =
        "projection { name: \"x\" source: \"E\" target: \"E\" explicit { pair { pre: 0 post: 1 } } weight_mV { "
        "constant: 1 } delay_ms { constant: 1 } }\n";
    CHECK(contains(error_of(spec(proj + "record { weights { projection: \"x\" synapse { pre: 1 post: 0 } "
                                        "interval_ms: 1 } }\n")),
                   "record.weights[0].synapse[0] = 1 -> 0: projection \"x\" has no synapse from neuron 1 to neuron 0"));
    CHECK(error_of(spec(proj + "record { weights { projection: \"x\" synapse { pre: 0 post: 1 } interval_ms: 1 } }\n")) ==
          "<no error>");
    // all_to_all within one population has no autapses unless allowed.
    const std::string all = "projection { name: \"x\" source: \"E\" target: \"E\" all_to_all {} weight_mV { constant: "
                            "1 } delay_ms { constant: 1 } }\n";
    CHECK(contains(error_of(spec(all + "record { weights { projection: \"x\" synapse { pre: 1 post: 1 } "
                                       "interval_ms: 1 } }\n")),
                   "projection \"x\" has no synapse from neuron 1 to neuron 1"));
}

TEST_CASE("limits: allow_autapses between two populations is refused") {
    CHECK(contains(error_of(spec("population { name: \"F\" size: 2 lif_delta {} }\nprojection { source: \"E\" target: "
                                 "\"F\" all_to_all {} allow_autapses: true weight_mV { constant: 1 } delay_ms { "
                                 "constant: 1 } }\n")),
                   "t.pbtxt:4:52: projection \"E->F\".allow_autapses = true: only applies when source and target are "
                   "the same population"));
}

TEST_CASE("limits: an unknown field in a binary spec is refused with its number") {
    spikeem::proto::Spec s;
    s.mutable_run()->set_duration_ms(10);
    auto* p = s.add_population();
    p->set_name("E");
    p->set_size(1);
    auto* m = p->mutable_lif_delta();
    m->GetReflection()->MutableUnknownFields(m)->AddVarint(999, 1);
    std::string bytes;
    REQUIRE(s.SerializeToString(&bytes));
    std::string message = "<no error>";
    try {
        (void)load_spec_binary(bytes, "t.pb");
    } catch (const SpecError& e) {
        message = e.what();
    }
    CHECK(contains(message, "t.pb: population \"E\".lif_delta: unknown field number 999"));
}

TEST_CASE("limits: a multiplicative rule with an infinite w_max is refused") {
    CHECK(contains(error_of(spec("projection { source: \"E\" target: \"E\" all_to_all {} weight_mV { constant: 1 } "
                                 "delay_ms { constant: 1 } plasticity { pair_stdp { a_plus_mV: 0.1 a_minus_mV: 0.1 "
                                 "tau_plus_ms: 20 tau_minus_ms: 20 } w_max_mV: inf weight_dependence { "
                                 "multiplicative {} } } }\n")),
                   "projection \"E->E\".plasticity.w_max_mV = inf: must be finite with a weight-dependent rule"));
}

TEST_CASE("limits: strings that are not valid UTF-8 are refused") {
    // Names are ASCII by kNameRule already; the spec's name and file paths were not checked.
    spikeem::proto::Spec s;
    s.set_name("bad \xff name");
    s.mutable_run()->set_duration_ms(10);
    auto* p = s.add_population();
    p->set_name("E");
    p->set_size(1);
    p->mutable_lif_delta();
    std::string bytes;
    (void)s.SerializePartialToString(&bytes);
    std::string message = "<no error>";
    try {
        (void)load_spec_binary(bytes, "t.pb");
    } catch (const SpecError& e) {
        message = e.what();
    }
    CHECK(message != "<no error>");
    // Text escapes let any byte through.
    CHECK(contains(error_of(spec("", "lif_delta {}") + "name: \"bad \\xff\"\n"),
                   "t.pbtxt:3:1: name = \"bad \\xff\": must be valid UTF-8 (it is written to run.json)"));
    CHECK(error_of(spec("", "lif_delta {}") + "name: \"caf\xc3\xa9\"\n") == "<no error>");
    CHECK(contains(error_of(spec("population { name: \"E\xc3\xa9\" size: 1 lif_delta {} }\n")),
                   "must be 1 to 200 of the characters"));
}

TEST_CASE("limits: a spec file that is not a regular file is refused before reading") {
    std::string message = "<no error>";
    try {
        (void)load_spec_file("/dev/zero");
    } catch (const SpecError& e) {
        message = e.what();
    } catch (const std::exception& e) {
        message = std::string("<not a SpecError: ") + e.what() + ">";
    }
    CHECK(message == "/dev/zero: not a regular file: a spec must be a regular file of at most 1 GiB");
}

TEST_CASE("limits: the number of messages is capped") {
    std::string extra = "record {";
    for (int k = 0; k < 500; ++k) extra += " spikes: \"nope\"";
    const std::string message = error_of(spec(extra + " }\n"));
    std::size_t lines = 1;
    for (char c : message) lines += c == '\n';
    CHECK(lines == 101);
    CHECK(contains(message, "\n... and 400 more problems"));
}

TEST_CASE("limits: problems with a message as a whole name its line and column") {
    CHECK(contains(error_of(spec("projection { source: \"E\" target: \"E\" weight_mV { constant: 1 } delay_ms { "
                                 "constant: 1 } }\n")),
                   "t.pbtxt:3:1: projection \"E->E\": no connectivity"));
    CHECK(contains(error_of(spec("population { name: \"F\" size: 1 }\n")), "t.pbtxt:3:1: population \"F\": no model"));
}

// Found by tests/fuzz (binary spec, first byte dropped): a spike_times
// population of 4,294,966,429 neurons with one train.  The loader made an
// empty train per neuron before anything could refuse the size, and died in
// bad_alloc; the trains now reach only as far as the highest neuron with one,
// and the memory estimate refuses the population.
TEST_CASE("limits: a spike_times population of four billion neurons is refused, not a bad_alloc") {
    const unsigned char input[] = {0x1a, 0x31, 0x0a, 0x01, 0x73, 0x10, 0x9d, 0xfc, 0xff, 0xff, 0x0a, 0x62, 0x1a, 0x2a,
                                   0x02, 0x12, 0x18, 0x70, 0x70, 0x70, 0x70, 0x70, 0x70, 0x70, 0x70, 0x70, 0x72, 0x70,
                                   0x70, 0x70, 0x70, 0x70, 0x72, 0x70, 0x70, 0x70, 0x70, 0x70, 0x70, 0x70, 0x70, 0x70,
                                   0x70, 0x70, 0x70, 0x70, 0x70, 0x70, 0x70, 0x70, 0x70, 0x70, 0x00, 0x70, 0x00};
    const std::string bytes(reinterpret_cast<const char*>(input), sizeof input);
    std::string message;
    try {
        load_spec_binary(bytes, "fuzz");
    } catch (const SpecError& e) {
        message = e.what();
    }
    CAPTURE(message);
    CHECK(!message.empty());
    // The same without the fuzzer's stray field: the memory estimate is what refuses it.
    message.clear();
    try {
        load_spec_text("population { name: \"s\" size: 4294966429 spike_times { train { neuron: 0 t_ms: [1] } } }",
                       "big");
    } catch (const SpecError& e) {
        message = e.what();
    }
    CAPTURE(message);
    CHECK(message.find("big: the spec needs about ") == 0);
    CHECK(message.find("population \"s\" (4294966429 spike_times neurons)") != std::string::npos);
}

TEST_CASE("limits: a poisson ramp that would pass one event per tick before the run ends is refused") {
    // 1 ps ticks: at most 1e12 Hz; 1e12 Hz/s over 2 s reaches 2e12 Hz.
    const std::string e = error_of(
        "run { duration_ms: 2000 resolution_ns: 0.001 }\n"
        "population { name: \"p\" size: 1 poisson { rate_hz: 10 rate_slope_hz_per_s: 1e12 } }");
    CHECK(e.find("population \"p\".poisson.rate_slope_hz_per_s = 1000000000000: the rate reaches 2000000000010 Hz at "
                 "t = 2000 ms: must stay < 999999999999.9999 (one event per tick at the resolution 1e-09 ms) (Hz/s)") !=
          std::string::npos);
    CAPTURE(e);
    // Stopped in time, the same ramp stays below it.
    CHECK(error_of("run { duration_ms: 2000 resolution_ns: 0.001 }\n"
                   "population { name: \"p\" size: 1 poisson { rate_hz: 10 rate_slope_hz_per_s: 1e12 stop_ms: 500 } }") ==
          "<no error>");
}

TEST_CASE("limits: a weight probe on a pair that fixed_probability did not draw is refused when the network is built") {
    const std::string base =
        "run { seed: 3 }\n"
        "population { name: \"a\" size: 20 lif_delta {} }\n"
        "projection { name: \"sparse\" source: \"a\" target: \"a\" fixed_probability { p: 0.2 } "
        "weight_mV { constant: 0.1 } delay_ms { constant: 1 } "
        "plasticity { w_max_mV: 1 pair_stdp { a_plus_mV: 0.01 a_minus_mV: 0.01 tau_plus_ms: 20 tau_minus_ms: 20 } } }\n";
    const auto spec = load_spec_text(base).spec;
    const spikeem::Simulation all(spec, 1);
    // One pair the seed drew and one it did not, from the built network's synapses.
    const auto drawn = all.weights_now(0);
    REQUIRE(!drawn.empty());
    std::uint32_t missing_post = 0;
    while (std::any_of(drawn.begin(), drawn.end(), [&](const auto& s) { return s.pre == 1 && s.post == missing_post; }) ||
           missing_post == 1)
        ++missing_post;
    auto probe = [&](std::uint32_t pre, std::uint32_t post) {
        return base + fmt::format("record {{ weights {{ projection: \"sparse\" synapse {{ pre: {} post: {} }} "
                                  "interval_ms: 1 }} }}\n",
                                  pre, post);
    };
    CHECK_NOTHROW(spikeem::Simulation(load_spec_text(probe(drawn[0].pre, drawn[0].post)).spec, 1));
    std::string message;
    try {
        spikeem::Simulation(load_spec_text(probe(1, missing_post)).spec, 1);
    } catch (const std::invalid_argument& e) {
        message = e.what();
    }
    CHECK(message == fmt::format("record.weights[0]: projection \"sparse\" has no synapse from 1 to {} (its connectivity "
                                 "did not draw one with this seed): probe a pair it has",
                                 missing_post));
    // The command line: a spec error (exit 2), nothing written.
    const auto dir = spikeem::test::fresh_dir("undrawn_probe");
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "s.pbtxt") << probe(1, missing_post);
    const auto r = spikeem::test::sh("run " + (dir / "s.pbtxt").string() + " --out " + (dir / "out").string());
    CHECK(r.status == 2);
    CHECK(r.out.find("s.pbtxt: record.weights[0]: projection \"sparse\" has no synapse from 1 to") != std::string::npos);
    CHECK(!std::filesystem::exists(dir / "out" / "run.json"));
    std::filesystem::remove_all(dir);
}
