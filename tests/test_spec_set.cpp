// --set FIELD.PATH=VALUE: the change reaches the validated spec exactly as the
// same edit of the file would, and bad paths and values are refused by name.
#include <doctest/doctest.h>

#include <string>

#include "cli_helpers.hpp"
#include "file_helpers.hpp"
#include "io/spec_loader.hpp"

using namespace spikeem;
using namespace spikeem::test;

namespace {

const std::string kSpec =
    "run { duration_ms: 100 }\n"
    "population { name: \"E\" size: 4 lif_delta { tau_m_ms: 20 } }\n"
    "population { name: \"I.x\" size: 2 lif_delta {} }\n"
    "projection { source: \"E\" target: \"I.x\" all_to_all {} weight_mV { constant: 0.5 } delay_ms { constant: 1 } }\n"
    "record { spikes: \"E\" }\n";

io::LoadedSpec with(const std::vector<std::string>& set) {
    io::SpecOverrides o;
    o.set = set;
    return io::load_spec_text(kSpec, "s", o);
}

std::string refusal(const std::string& assignment) {
    return error_of<io::SpecError>([&] { with({assignment}); });
}

}  // namespace

TEST_CASE("--set changes the field it names, as editing the file would") {
    const io::LoadedSpec base = with({});
    const io::LoadedSpec tau = with({"population[E].lif_delta.tau_m_ms=10"});
    CHECK(std::get<LifDeltaParams>(tau.spec.populations[0].model).tau_m_ms == 10.0);
    CHECK(tau.set == std::vector<std::string>{"population[E].lif_delta.tau_m_ms=10"});
    CHECK(tau.hash != base.hash);
    // The same edit written into the text: the same spec hash.
    std::string edited = kSpec;
    edited.replace(edited.find("tau_m_ms: 20"), 12, "tau_m_ms: 10");
    CHECK(io::load_spec_text(edited, "s").hash == tau.hash);

    // By index, names with dots, lists, messages, strings without quotes, enums, and several in order.
    CHECK(std::get<LifDeltaParams>(with({"population[1].lif_delta.v_th_mV=-50"}).spec.populations[1].model).v_th_mV ==
          -50.0);
    CHECK(std::get<double>(with({"projection[E->I.x].weight_mV.constant=0.25"}).spec.projections[0].weight_mV) == 0.25);
    CHECK(with({"record.spikes=[E, I.x]"}).spec.record.spike_populations == std::vector<std::string>{"E", "I.x"});
    CHECK(with({"record.spikes=I.x"}).spec.record.spike_populations == std::vector<std::string>{"I.x"});
    const io::LoadedSpec uni = with({"population[E].lif_delta.v_init_mV={ uniform { low: -70 high: -60 } }"});
    CHECK(std::holds_alternative<UniformDist>(std::get<LifDeltaParams>(uni.spec.populations[0].model).v_init_mV));
    CHECK(with({"run.duration_ms=5", "run.duration_ms=7"}).spec.run.duration_ms == 7.0);
    // A field the file did not have is created.
    CHECK(with({"run.seed=42"}).spec.run.seed == 42u);
}

TEST_CASE("--set refuses what names no field or element, and values the field cannot hold") {
    CHECK(refusal("population[E].lif_delta.tau_m=10")
              .find("--set population[E].lif_delta.tau_m=10: LifDelta has no field \"tau_m\" (fields: tau_m_ms,") !=
          std::string::npos);
    CHECK(refusal("population[X].lif_delta.tau_m_ms=10").find("no population \"X\" (the spec has: E, I.x)") !=
          std::string::npos);
    CHECK(refusal("population.size=3").find("population is a list: name an element") != std::string::npos);
    CHECK(refusal("run[0].seed=3").find("run is not a list") != std::string::npos);
    CHECK(refusal("run.duration_ms.x=3").find("duration_ms is a value, not a message") != std::string::npos);
    CHECK(refusal("run.duration_ms=fast").find("\"fast\" is not a valid value for duration_ms (double") !=
          std::string::npos);
    CHECK(refusal("run.duration_ms").find("expected FIELD.PATH=VALUE") != std::string::npos);
    CHECK(refusal("population[E.lif_delta.tau_m_ms=1").find("a '[' without its ']'") != std::string::npos);
    // A value of the right type but out of range goes on to validation, which names the field.
    CHECK(refusal("population[E].lif_delta.tau_m_ms=-1").find("population \"E\".lif_delta.tau_m_ms = -1: must be > 0") !=
          std::string::npos);
}

TEST_CASE("spikeem run --set: the outputs of the edited spec, and run.json lists the assignments") {
    const fs::path d = fresh_dir("set_run");
    fs::create_directories(d);
    std::string edited = kSpec;
    edited.replace(edited.find("tau_m_ms: 20"), 12, "tau_m_ms: 10");
    const std::string with_input =
        "population { name: \"in\" size: 20 poisson { rate_hz: 50 } }\n"
        "projection { source: \"in\" target: \"E\" all_to_all {} weight_mV { constant: 2 } delay_ms { constant: 1 } }\n";
    write_file(d / "a.pbtxt", kSpec + with_input);
    write_file(d / "b.pbtxt", edited + with_input);
    Result a = sh("run " + (d / "a.pbtxt").string() + " --out " + (d / "a").string() +
                  " -q --set 'population[E].lif_delta.tau_m_ms=10' --set run.seed=3");
    REQUIRE(a.status == 0);
    Result b = sh("run " + (d / "b.pbtxt").string() + " --out " + (d / "b").string() + " -q --seed 3");
    REQUIRE(b.status == 0);
    CHECK(slurp(d / "a" / "spikes.csv") == slurp(d / "b" / "spikes.csv"));
    CHECK(slurp(d / "a" / "spikes.csv").size() > 100);
    const std::string json = slurp(d / "a" / "run.json");
    CHECK(json.find("\"set\": [\"population[E].lif_delta.tau_m_ms=10\", \"run.seed=3\"]") != std::string::npos);
    CHECK(slurp(d / "b" / "run.json").find("\"set\"") == std::string::npos);

    Result bad = sh("run " + (d / "a.pbtxt").string() + " --out " + (d / "c").string() + " --set run.duration=5");
    CHECK(bad.status == 2);
    CHECK(bad.out.find("--set run.duration=5: Run has no field \"duration\"") != std::string::npos);
    CHECK(!fs::exists(d / "c"));
    fs::remove_all(d);
}
