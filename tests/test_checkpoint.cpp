// Checkpoints: a run stopped at any point, saved (Simulation::save_state),
// read into a simulation built anew and continued gives exactly the outputs
// of the run never stopped: every neuron model, rule, input and recorder, on
// one partition and on two.  Then the command line: --checkpoint-every-ms and
// `spikeem resume` write the same bytes as a plain run, and a checkpoint that
// does not fit (another version, spec, network; damaged) is refused by name.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli_helpers.hpp"
#include "fingerprint.hpp"
#include "io/checkpoint.hpp"
#include "io/spec_loader.hpp"

using namespace spikeem;
using spikeem::test::Fingerprint;
using spikeem::test::finish;
namespace fs = std::filesystem;

namespace {

// Every neuron model, every rule but the tied ones (the examples have
// those), Poisson and current inputs of every kind, every kind of probe.
const char* kAll = R"(
name: "checkpoint_all"
run { duration_ms: 400 seed: 11 }
population { name: "in" size: 40 poisson { rate_hz: 15 rate_slope_hz_per_s: 20 } }
population { name: "E" size: 30 lif_delta { tau_m_ms: 20 v_rest_mV: -65 v_th_mV: -50 v_reset_mV: -65 t_ref_ms: 2
             v_init_mV { uniform { low: -65 high: -51 } } } }
population { name: "X" size: 20 lif_exp { tau_m_ms: 15 tau_e_ms: 3 tau_i_ms: 6 v_rest_mV: -60 v_th_mV: -50 v_reset_mV: -60 t_ref_ms: 2 } }
population { name: "C" size: 20 lif_cond_exp { } }
population { name: "A" size: 10 adex { c_pF: 200 g_leak_nS: 10 e_leak_mV: -70 v_t_mV: -50 delta_t_mV: 2
             a_nS: 2 tau_w_ms: 30 b_pA: 40 v_reset_mV: -58 v_peak_mV: 0 t_ref_ms: 1 i_e_pA: 150 } }
population { name: "S" size: 15 stochastic { tau_m_ms: 10 drive_mV: 0.5 noise_sigma_mV: 0.3 tau_syn_ms: 3
             rho_max_hz: 150 beta_per_mV: 5 theta_mV: 1 v_reset_mV: 0 t_ref_ms: 1 } }
projection { source: "in" target: "E" fixed_probability { p: 0.4 } weight_mV { uniform { low: 1 high: 3 } }
             delay_ms { uniform { low: 0.5 high: 3 } } dendritic_delay_ms: 0.3
             plasticity { triplet_stdp { preset: "visual_all_to_all" } w_max_mV: 4 } }
projection { source: "E" target: "X" fixed_probability { p: 0.3 } weight_mV { constant: 2 }
             delay_ms { uniform { low: 0.5 high: 2 } }
             plasticity { pair_stdp { a_plus_mV: 0.05 a_minus_mV: 0.06 tau_plus_ms: 17 tau_minus_ms: 34 }
                          weight_dependence { multiplicative {} } w_max_mV: 4 } }
projection { source: "in" target: "C" fixed_probability { p: 0.3 } weight_mV { constant: 3 }
             delay_ms { constant: 1 }
             plasticity { rate_slope { eta_mV_ms: 1 tau_pre_ms: 20 tau_post_ms: 20 } w_max_mV: 5 } }
projection { source: "X" target: "A" all_to_all {} weight_mV { constant: 4 } delay_ms { uniform { low: 0.5 high: 1.5 } } }
projection { source: "in" target: "S" fixed_probability { p: 0.5 } weight_mV { uniform { low: 0.02 high: 0.2 } }
             delay_ms { uniform { low: 2 high: 5 } }
             plasticity { voltage_slope { eta_ms: 0.002 estimate: CENTRAL window_ms: 1.5 } w_min_mV: -1 w_max_mV: 1 } }
projection { source: "E" target: "S" fixed_probability { p: 0.2 } weight_mV { constant: 0.1 }
             delay_ms { uniform { low: 1 high: 2 } }
             plasticity { voltage_slope { eta_ms: 0.001 estimate: ANALYTIC } w_min_mV: -1 w_max_mV: 1 } }
projection { source: "S" target: "E" fixed_probability { p: 0.2 } weight_mV { constant: -0.5 }
             delay_ms { constant: 1 }
             plasticity { inhibitory_stdp { eta_mV: 0.2 tau_ms: 20 target_rate_hz: 5 } w_min_mV: -5 w_max_mV: 0 } }
poisson_input { target: "X" rate_hz: 10 sources: 300 weight_mV: 2 }
current_input { name: "dc" target: "E" dc { amplitude_mV { uniform { low: 5 high: 12 } } } start_ms: 50 }
current_input { name: "steps" target: "A" steps { t_ms: [100, 250] amplitude_mV: [8, 0] } }
current_input { name: "noise" target: "C" ou { mean_mV: 5 sigma_mV: 3 tau_ms: 5 dt_ms: 0.5 } }
current_input { name: "sdrive" target: "S" dc { amplitude_mV { constant: 0.3 } } start_ms: 120 stop_ms: 300 }
record {
  spikes: "E" spikes: "X" spikes: "C" spikes: "A" spikes: "S"
  spike_probe { population: "in" neuron: [0, 3, 7] start_ms: 20 stop_ms: 350 }
  voltage { population: "E" neuron: [0, 5] interval_ms: 0.7 }
  voltage { population: "A" interval_ms: 1.1 }
  voltage { population: "C" neuron: [1] interval_ms: 0.5 }
  weights { projection: "in->E" interval_ms: 50 }
  rate { population: "E" neuron: [3, 9] interval_ms: 5 readout: COUNT window_ms: 20 }
  rate { population: "X" interval_ms: 7 readout: EXP tau_ms: 30 }
  rate { population: "S" neuron: [0, 4] interval_ms: 3 readout: MODEL }
  population_rate { population: "E" bin_ms: 10 }
  population_rate { population: "X" bin_ms: 60 start_ms: 5 }
}
)";

// The run in one go, and the same run stopped at each of `splits_ms`: there
// the state is saved, a new Simulation is built from the spec, the state is
// loaded into it and the run goes on in the new one.
void check_splits(const NetworkSpec& spec, unsigned threads, const std::vector<double>& splits_ms) {
    Simulation whole(spec, threads, Partitioning::Exact);
    whole.run();
    const Fingerprint want = finish(whole);
    auto sim = std::make_unique<Simulation>(spec, threads, Partitioning::Exact);
    std::size_t state_bytes = 0;
    for (double ms : splits_ms) {
        sim->run_until(sim->time().round(ms));
        const std::string state = sim->save_state();
        state_bytes = state.size();
        sim = std::make_unique<Simulation>(spec, threads, Partitioning::Exact);
        sim->load_state(state);
    }
    sim->run();
    const Fingerprint got = finish(*sim);
    CHECK(state_bytes > 0);
    CHECK(got.spikes == want.spikes);
    CHECK(got.voltages == want.voltages);
    CHECK(got.weight_samples == want.weight_samples);
    CHECK(got.rate_samples == want.rate_samples);
    CHECK(got.population_rates == want.population_rates);
    CHECK(got.weights == want.weights);
    CHECK(got.slope_log == want.slope_log);
    CHECK(got.counts == want.counts);
}

}  // namespace

TEST_CASE("Every model rule input and probe continues exactly from a saved state on 1 and 2 partitions") {
    const NetworkSpec spec = io::load_spec_text(kAll).spec;
    {
        Simulation probe(spec, 1);
        probe.run();
        // Every population fires, so every model's state is exercised.
        for (std::size_t p = 0; p < probe.num_populations(); ++p) REQUIRE(probe.summary(p).spikes > 50);
    }
    for (unsigned threads : {1u, 2u}) {
        CAPTURE(threads);
        check_splits(spec, threads, {0.0});
        check_splits(spec, threads, {123.4567});
        check_splits(spec, threads, {0.3, 50.0, 50.0, 99.9, 250.0, 399.999});
    }
}

TEST_CASE("Every example spec continues exactly from saved states on 1 and 2 partitions") {
    // Examples run 150 ms here (the tied-projection ones run in one partition).
    // Left out: replay_output reads another run's output; scale_400k and the
    // brunel_plastic pair take seconds to build (what they use, kAll has);
    // quiet_lif_exp's 400,000 neurons do nothing that cuba_exp does not.
    const std::vector<std::string> skip = {"replay_output", "scale_400k", "brunel_plastic", "brunel_plastic_input",
                                           "quiet_lif_exp"};
    std::vector<fs::path> specs;
    for (const auto& e : fs::recursive_directory_iterator(fs::path(SPIKEEM_SOURCE_DIR) / "examples"))
        if (e.path().extension() == ".pbtxt" &&
            std::find(skip.begin(), skip.end(), e.path().stem().string()) == skip.end())
            specs.push_back(e.path());
    std::sort(specs.begin(), specs.end());
    REQUIRE(specs.size() >= 20);
    for (const fs::path& path : specs) {
        CAPTURE(path);
        NetworkSpec spec = io::load_spec_file(path.string(), io::SpecOverrides{{}, 150.0, {}}).spec;
        for (unsigned threads : {1u, 2u}) {
            CAPTURE(threads);
            check_splits(spec, threads, {41.3, 100.0});
        }
    }
}

TEST_CASE("A saved state does not load into another network, a run simulation or a truncated stream") {
    const NetworkSpec spec = io::load_spec_text(kAll).spec;
    Simulation a(spec, 1);
    a.run_until(a.time().round(100.0));
    const std::string state = a.save_state();

    NetworkSpec smaller = spec;
    smaller.populations[1].size = 29;  // E
    Simulation other(smaller, 1);
    CHECK_THROWS_WITH_AS(other.load_state(state), doctest::Contains("lif_delta E"), StateMismatch);

    Simulation two(spec, 2, Partitioning::Exact);
    CHECK_THROWS_WITH_AS(two.load_state(state), doctest::Contains("partition count"), StateMismatch);

    Simulation cut(spec, 1);
    CHECK_THROWS_WITH_AS(cut.load_state(std::string_view(state).substr(0, state.size() / 2)),
                         doctest::Contains("ends early"), StateMismatch);

    Simulation longer(spec, 1);
    CHECK_THROWS_WITH_AS(longer.load_state(state + "x"), doctest::Contains("after its end"), StateMismatch);

    CHECK_THROWS_AS(a.load_state(state), std::logic_error);  // a has run
}

// ---- the command line

namespace {

using test::folder_bytes;
using test::fresh_dir;
using test::sh;

struct Scratch {
    fs::path dir = fresh_dir("checkpoint_cli");
    fs::path spec = dir / "all.pbtxt";
    Scratch() {
        fs::create_directories(dir);
        std::ofstream(spec) << kAll;
    }
    ~Scratch() { fs::remove_all(dir); }
    std::string run(const std::string& out, const std::string& args) const {
        return "run " + spec.string() + " --out " + (dir / out).string() + " -q " + args;
    }
    fs::path ckpt(const std::string& out) const { return dir / (out + ".checkpoint"); }
};

}  // namespace

TEST_CASE("run --checkpoint-every-ms and resume write the bytes of a plain run, csv and npy, 1 and 2 partitions") {
    const Scratch s;
    for (const std::string format : {"csv", "npy"}) {
        for (const std::string threads : {"1", "2"}) {
            CAPTURE(format);
            CAPTURE(threads);
            const std::string common = "--format " + format + " --partitions " + threads;
            REQUIRE(sh(s.run("plain", common)).status == 0);
            // Checkpoints at 70, 140, ... change nothing; the last state (400 ms) stays.
            REQUIRE(sh(s.run("every", common + " --checkpoint-every-ms 70")).status == 0);
            CHECK(folder_bytes(s.dir / "every") == folder_bytes(s.dir / "plain"));
            CHECK(io::read_checkpoint(s.ckpt("every")).tick == 400'000'000);
            // A run of 130 ms extended by resume to 400 ms is the 400 ms run.
            REQUIRE(sh(s.run("short", common + " --duration-ms 130 --checkpoint-every-ms 45")).status == 0);
            const auto r = sh("resume " + (s.dir / "short").string() + " -q --duration-ms 400");
            CHECK_MESSAGE(r.status == 0, r.out);
            REQUIRE(sh(s.run("plain400", common + " --duration-ms 400")).status == 0);
            CHECK(folder_bytes(s.dir / "short") == folder_bytes(s.dir / "plain400"));
            // Without --checkpoint-every-ms a completed run leaves no checkpoint.
            CHECK(!fs::exists(s.ckpt("plain")));
        }
    }
}

TEST_CASE("resume refuses a missing, damaged or foreign checkpoint and a changed spec, by name, with exit 2") {
    const Scratch s;
    REQUIRE(sh(s.run("a", "--duration-ms 200 --checkpoint-every-ms 100")).status == 0);
    const std::string good = test::slurp(s.ckpt("a") / "checkpoint");
    auto resume = [&](const std::string& args = "") { return sh("resume " + (s.dir / "a").string() + " " + args); };
    auto write = [&](const std::string& bytes) { std::ofstream(s.ckpt("a") / "checkpoint", std::ios::binary) << bytes; };

    CHECK(resume("--duration-ms 150").status == 2);  // before the checkpoint (200 ms)
    CHECK(resume("--duration-ms 150").out.find("cannot go back") != std::string::npos);

    std::string other_version = good;
    const std::size_t at = other_version.find(io::version());
    REQUIRE(at != std::string::npos);
    other_version.replace(at, io::version().size(), std::string(io::version().size(), '9'));
    write(other_version);
    auto r = resume();
    CHECK(r.status == 2);
    CHECK(r.out.find("was written by spikeem " + std::string(io::version().size(), '9')) != std::string::npos);

    std::string damaged = good;
    damaged[damaged.size() - 100] ^= 0x40;
    write(damaged);
    r = resume();
    CHECK(r.status == 2);
    CHECK(r.out.find("is damaged") != std::string::npos);

    write(good.substr(0, good.size() - 10));
    CHECK(resume().out.find("truncated") != std::string::npos);

    write("not a checkpoint");
    CHECK(resume().out.find("is not a spikeem checkpoint") != std::string::npos);

    write(good);
    std::ofstream(s.spec, std::ios::app) << "# an edit\npoisson_input { target: \"E\" rate_hz: 1 sources: 1 weight_mV: 1 }\n";
    r = resume();
    CHECK(r.status == 2);
    CHECK(r.out.find("the spec " + s.spec.string() + " has changed since the checkpoint") != std::string::npos);

    write(good);
    fs::remove(s.ckpt("a") / "spikes.csv.23");  // a table's copy
    r = resume();
    CHECK(r.status == 2);
    CHECK(r.out.find("spikes.csv.23: holds 0 bytes of the") != std::string::npos);

    fs::remove_all(s.ckpt("a"));
    r = resume();
    CHECK(r.status == 2);
    CHECK(r.out.find("a.checkpoint: cannot be read") != std::string::npos);
    CHECK(fs::exists(s.dir / "a" / "run.json"));  // the outputs stay as they were
}
