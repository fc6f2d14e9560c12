// The memory estimate (network/estimate.hpp) against the measured peak
// resident set of `spikeem run`, on specs unlike the ones its constants were
// measured on (other sizes, models mixed, plastic and static projections,
// probes together), and the refusal of specs that need more than the machine.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <string>

#include "cli_helpers.hpp"
#include "file_helpers.hpp"
#include "io/spec_loader.hpp"
#include "network/estimate.hpp"

using namespace spikeem;
using namespace spikeem::test;

namespace {

// Peak resident set (bytes) of `spikeem run SPEC --out DIR -q`.
double peak_bytes(const fs::path& spec, const fs::path& out) {
    return peak_rss_bytes({"run", spec.string(), "--out", out.string(), "-q"});
}

}  // namespace

TEST_CASE("memory estimate: within a factor of 1.5 of the measured peak on specs unlike the calibration ones") {
    const fs::path dir = fresh_dir("estimate");
    fs::create_directories(dir);
    const std::string specs[] = {
        // neurons of several models
        "run { duration_ms: 5 } population { name: \"a\" size: 300000 lif_exp {} } "
        "population { name: \"b\" size: 200000 adex {} } population { name: \"c\" size: 250000 stochastic {} }",
        // a static and a plastic projection
        "run { duration_ms: 5 } population { name: \"s\" size: 2000 poisson { rate_hz: 5 } } "
        "population { name: \"t\" size: 2000 lif_delta {} } "
        "projection { source: \"s\" target: \"t\" all_to_all {} weight_mV { constant: 0.01 } delay_ms { constant: 1 } } "
        "projection { name: \"plastic\" source: \"s\" target: \"t\" fixed_probability { p: 0.5 } "
        "weight_mV { constant: 0.01 } delay_ms { constant: 2 } plasticity { w_max_mV: 1 "
        "pair_stdp { a_plus_mV: 0.001 a_minus_mV: 0.001 tau_plus_ms: 20 tau_minus_ms: 20 } } }",
        // Poisson input into every neuron (its streams and batches outweigh the neurons)
        "run { duration_ms: 2 } population { name: \"a\" size: 400000 lif_delta {} } "
        "poisson_input { target: \"a\" rate_hz: 10 sources: 800 weight_mV: 0.01 }",
        // voltage samples, streamed
        "run { duration_ms: 2000 } population { name: \"a\" size: 150 lif_delta {} } "
        "record { voltage { population: \"a\" interval_ms: 0.1 } }",
    };
    for (const std::string& text : specs) {
        CAPTURE(text);
        const fs::path spec = dir / "spec.pbtxt";
        {
            std::ofstream(spec) << text;
        }
        // `spikeem run` streams its samples to the files.
        const double estimate = estimate_memory(io::load_spec_text(text).spec, Recording::Streamed).bytes;
        const double measured = peak_bytes(spec, dir / "out");
        MESSAGE("estimate ", format_bytes(estimate), ", measured peak ", format_bytes(measured));
        CHECK(estimate < 1.5 * measured);
        CHECK(measured < 1.5 * estimate);
    }
    fs::remove_all(dir);
}

TEST_CASE("memory estimate: a spec that needs more than the machine is refused, naming the part responsible") {
    const double have = physical_memory_bytes();
    REQUIRE(have > 0.0);
    // All-to-all between two populations large enough for 36 bytes per synapse (kept and
    // building) to exceed the machine.
    const auto n = static_cast<std::uint32_t>(std::ceil(std::sqrt(have / 36.0))) + 1000;
    const std::string text = fmt::format(
        "population {{ name: \"s\" size: {0} poisson {{ rate_hz: 1 }} }} population {{ name: \"t\" size: {0} lif_delta {{}} }} "
        "projection {{ name: \"huge\" source: \"s\" target: \"t\" all_to_all {{}} weight_mV {{ constant: 0.1 }} "
        "delay_ms {{ constant: 1 }} }}",
        n);
    const std::string e = error_of<io::SpecError>([&] { io::load_spec_text(text, "big"); });
    CAPTURE(e);
    CHECK(e.find("big: the spec needs about ") == 0);
    CHECK(e.find(fmt::format("more than this machine's {}", format_bytes(have))) != std::string::npos);
    CHECK(e.find("building projection \"huge\" (about ") != std::string::npos);
    // A sixteenth of it loads.
    const auto m = static_cast<std::uint32_t>(n / 4);
    CHECK_NOTHROW(io::load_spec_text(fmt::format(
        "population {{ name: \"s\" size: {0} poisson {{ rate_hz: 1 }} }} population {{ name: \"t\" size: {0} lif_delta {{}} }} "
        "projection {{ source: \"s\" target: \"t\" all_to_all {{}} weight_mV {{ constant: 0.1 }} delay_ms {{ constant: 1 }} }}",
        m)));
}

TEST_CASE("memory estimate: samples kept in memory count in full, streamed ones as one sample time and a buffer") {
    io::SpecOverrides as_run;
    as_run.streamed_recording = true;  // loaded as `spikeem run` loads it: kept, it would not fit
    const NetworkSpec spec = io::load_spec_text(
        "run { duration_ms: 100000 } population { name: \"a\" size: 1000 lif_delta {} } "
        "record { voltage { population: \"a\" interval_ms: 0.1 } }", "<spec>", as_run).spec;
    const MemoryEstimate kept = estimate_memory(spec), streamed = estimate_memory(spec, Recording::Streamed);
    CHECK(kept.parts.at(0).what == "record.voltage[0] (1e+09 samples)");
    CHECK(kept.bytes > 30e9);  // 32 bytes a sample
    CHECK(streamed.bytes < 30e6);
    bool buffer = false;
    for (const auto& p : streamed.parts) {
        if (p.what == "record.voltage[0] (1e+09 samples, streamed)") CHECK(p.bytes == 32.0 * 1000);
        buffer = buffer || p.what == "the buffer of streamed samples";
    }
    CHECK(buffer);
}
