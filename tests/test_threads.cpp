// One network on several threads (Simulation's partitions): every output is
// bit-identical for 1, 2, 4 and 8 partitions, and so is every intermediate
// state a driver can read between chunks.
#include <doctest/doctest.h>
#include <tbb/global_control.h>

#include <bit>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "fingerprint.hpp"
#include "helpers.hpp"
#include "io/spec_loader.hpp"

using namespace spikeem;
using spikeem::test::Fingerprint;
using spikeem::test::finish;
using spikeem::test::add_state;
using spikeem::test::bits;

namespace {

NetworkSpec load(const std::string& text) { return io::load_spec_text(text).spec; }

// A plain run in one call.
Fingerprint run_whole(const NetworkSpec& spec, unsigned threads, std::size_t* partitions = nullptr) {
    Simulation sim(spec, threads, Partitioning::Exact);
    if (partitions) *partitions = sim.partitions();
    sim.run();
    return finish(sim);
}

void check_threads(const NetworkSpec& spec, std::size_t min_spikes,
                   std::initializer_list<unsigned> thread_counts = {2u, 4u, 8u}) {
    const Fingerprint one = run_whole(spec, 1);
    REQUIRE(one.spikes.size() / 3 >= min_spikes);
    for (unsigned threads : thread_counts) {
        CAPTURE(threads);
        std::size_t partitions = 0;
        const Fingerprint many = run_whole(spec, threads, &partitions);
        CHECK(partitions == threads);
        CHECK(many.spikes == one.spikes);
        CHECK(many.voltages == one.voltages);
        CHECK(many.weight_samples == one.weight_samples);
        CHECK(many.rate_samples == one.rate_samples);
        CHECK(many.weights == one.weights);
        CHECK(many.slope_log == one.slope_log);
        CHECK(many.counts == one.counts);
    }
}

// Pair STDP (and triplet) with random axonal and dendritic delays on LIF
// neurons driven by Poisson sources; one population fires on its own
// (v_rest above threshold), one only from input; two 3-neuron populations
// (one firing on its own: its window sweeps run on partitions with empty
// chunks) have fewer neurons than some thread counts have partitions.
const char* kStdp = R"(
name: "stdp_threads"
run { duration_ms: 1300 seed: 7 }
population { name: "in" size: 60 poisson { rate_hz: 20 } }
population { name: "E" size: 120 lif_delta { tau_m_ms: 20 v_rest_mV: -65 v_th_mV: -50 v_reset_mV: -65 t_ref_ms: 2
             v_init_mV { uniform { low: -65 high: -51 } } } }
population { name: "S" size: 37 lif_delta { tau_m_ms: 15 v_rest_mV: -49 v_th_mV: -50 v_reset_mV: -60 t_ref_ms: 3
             v_init_mV { uniform { low: -60 high: -50 } } } }
population { name: "tiny" size: 3 lif_delta { tau_m_ms: 10 v_rest_mV: -70 v_th_mV: -55 v_reset_mV: -70 t_ref_ms: 1 } }
population { name: "tiny_self" size: 3 lif_delta { tau_m_ms: 10 v_rest_mV: -54 v_th_mV: -55 v_reset_mV: -60 t_ref_ms: 1 } }
projection { source: "in" target: "E" fixed_probability { p: 0.3 } weight_mV { uniform { low: 1 high: 3 } }
             delay_ms { uniform { low: 0.2 high: 3 } } dendritic_delay_ms: 0.4
             plasticity { pair_stdp { a_plus_mV: 0.05 a_minus_mV: 0.06 tau_plus_ms: 17 tau_minus_ms: 34 }
                          w_max_mV: 4 } }
projection { source: "E" target: "E" fixed_probability { p: 0.1 } weight_mV { constant: 0.6 }
             delay_ms { uniform { low: 0.3 high: 2.5 } }
             plasticity { pair_stdp { a_plus_mV: 0.02 a_minus_mV: 0.02 tau_plus_ms: 10 tau_minus_ms: 20
                                      pairing: NEAREST_SYMMETRIC }
                          weight_dependence { multiplicative {} } w_max_mV: 1.5 } }
projection { source: "S" target: "E" fixed_indegree { indegree: 5 } weight_mV { normal { mean: 0.8 std: 0.3 min: 0.1 max: 1.9 } }
             delay_ms { uniform { low: 0.25 high: 1 } }
             plasticity { triplet_stdp { preset: "visual_all_to_all" } w_max_mV: 2 } }
projection { source: "E" target: "S" fixed_probability { p: 0.2 } weight_mV { constant: -1 }
             delay_ms { uniform { low: 0.25 high: 4 } } }
projection { source: "S" target: "S" fixed_probability { p: 0.2 } weight_mV { constant: 0.3 }
             delay_ms { constant: 0.25 } }
projection { source: "E" target: "tiny" all_to_all {} weight_mV { constant: 0.5 } delay_ms { uniform { low: 1 high: 2 } } }
projection { source: "E" target: "tiny_self" all_to_all {} weight_mV { constant: -0.05 } delay_ms { uniform { low: 1 high: 2 } } }
record {
  spikes: "E" spikes: "S" spikes: "tiny" spikes: "tiny_self" spikes: "in"
  voltage { population: "E" neuron: [0, 119, 60, 61, 5] interval_ms: 0.7 }
  voltage { population: "tiny" interval_ms: 1.3 }
  voltage { population: "tiny_self" interval_ms: 0.9 }
  weights { projection: "in->E" interval_ms: 50 }
  weights { projection: "S->E" synapse { pre: 0 post: 7 } synapse { pre: 36 post: 97 } interval_ms: 10 }
  rate { population: "E" neuron: [3, 90, 3] interval_ms: 5 readout: COUNT window_ms: 20 }
  rate { population: "S" interval_ms: 7 readout: EXP tau_ms: 30 }
}
)";

// Stochastic neurons (noise, exponential currents, reset) with the three
// estimates of Eq. 1 and random delays; MODEL rate probes draw the noise.
const char* kEq1 = R"(
name: "eq1_threads"
run { duration_ms: 800 seed: 3 }
population { name: "exc" size: 80 poisson { rate_hz: 15 } }
population { name: "inh" size: 20 poisson { rate_hz: 15 } }
population { name: "post" size: 26 stochastic { tau_m_ms: 10 drive_mV: 0.5 noise_sigma_mV: 0.3 tau_syn_ms: 3
             rho_max_hz: 150 beta_per_mV: 5 theta_mV: 1 v_reset_mV: 0 t_ref_ms: 1 } }
population { name: "quiet" size: 9 stochastic { tau_m_ms: 12 drive_mV: 0.2 rho_max_hz: 100 beta_per_mV: 4 } }
projection { source: "exc" target: "post" fixed_probability { p: 0.5 } weight_mV { uniform { low: 0.02 high: 0.2 } }
             delay_ms { uniform { low: 2 high: 5 } }
             plasticity { voltage_slope { eta_ms: 0.002 estimate: CENTRAL window_ms: 1.5 } w_min_mV: -1 w_max_mV: 1 } }
projection { source: "inh" target: "post" all_to_all {} weight_mV { constant: -0.1 }
             delay_ms { uniform { low: 1 high: 3 } } dendritic_delay_ms: 0.5
             plasticity { voltage_slope { eta_ms: 0.002 estimate: FORWARD window_ms: 2 } w_min_mV: -1 w_max_mV: 1 } }
projection { source: "post" target: "quiet" fixed_probability { p: 0.4 } weight_mV { constant: 0.2 }
             delay_ms { uniform { low: 1.6 high: 3 } }
             plasticity { voltage_slope { eta_ms: 0.001 estimate: ANALYTIC } w_min_mV: -1 w_max_mV: 1 } }
projection { source: "post" target: "post" fixed_probability { p: 0.1 } weight_mV { constant: 0.05 }
             delay_ms { uniform { low: 1.6 high: 2 } } }
record {
  spikes: "post" spikes: "quiet"
  voltage { population: "post" neuron: [25, 0, 13] interval_ms: 0.5 }
  weights { projection: "exc->post" interval_ms: 100 }
  rate { population: "post" interval_ms: 10 readout: MODEL }
  rate { population: "quiet" neuron: [8, 0] interval_ms: 3 readout: EXP tau_ms: 20 }
}
)";

}  // namespace

TEST_CASE("cuba_delta for 1 s gives identical spikes and voltages on 1 2 4 and 8 threads") {
    NetworkSpec spec = io::load_spec_file(std::string(SPIKEEM_SOURCE_DIR) + "/examples/benchmarks/cuba_delta.pbtxt").spec;
    spec.run.duration_ms = 1000.0;
    check_threads(spec, 30000);
}

TEST_CASE("cuba_exp for 1 s gives identical spikes and voltages on 1 2 4 and 8 threads") {
    // lif_exp: exact crossings with lazy bounds, the rescaled state rebased every 150 ms by the engine.
    NetworkSpec spec = io::load_spec_file(std::string(SPIKEEM_SOURCE_DIR) + "/examples/benchmarks/cuba_exp.pbtxt").spec;
    spec.run.duration_ms = 1000.0;
    check_threads(spec, 15000);
}

TEST_CASE("cuba_stdp gives identical spikes and weights on 1 2 4 and 8 threads") {
    // One thread keeps pair STDP's presynaptic traces per delay group, several
    // threads per synapse (a group's targets span partitions): the same bits.
    NetworkSpec spec = io::load_spec_file(std::string(SPIKEEM_SOURCE_DIR) + "/examples/benchmarks/cuba_stdp.pbtxt").spec;
    spec.run.duration_ms = 500.0;
    check_threads(spec, 7000);
}

TEST_CASE("A spike merged into one event reaches 70 partitions as on one: destinations past the first 64") {
    // E's and I's projections are static with one delay each, the same for all
    // of a population: each spike is one delivery event, sent to the partitions
    // that own its targets, from a mask of 64 partitions per word.  Targets in
    // partitions 64-69 (the last E and I neurons) need the second word.  E's
    // last neuron has no E->E synapses (its spike's first block is empty),
    // E->I has a weight per synapse, and "solo" has one projection only (not
    // merged).
    const char* text = R"(
name: "merged_many"
run { duration_ms: 300 seed: 11 }
population { name: "E" size: 140 lif_delta { tau_m_ms: 20 v_rest_mV: -49 v_th_mV: -50 v_reset_mV: -60 t_ref_ms: 2
             v_init_mV { uniform { low: -60 high: -50 } } } }
population { name: "I" size: 75 lif_delta { tau_m_ms: 10 v_rest_mV: -49.5 v_th_mV: -50 v_reset_mV: -60 t_ref_ms: 1
             v_init_mV { uniform { low: -60 high: -50 } } } }
population { name: "solo" size: 9 lif_delta { tau_m_ms: 10 v_rest_mV: -70 v_th_mV: -55 v_reset_mV: -70 t_ref_ms: 1 } }
projection { source: "E" target: "E" source_neurons { begin: 0 end: 139 } fixed_indegree { indegree: 12 }
             weight_mV { constant: 0.3 } delay_ms { constant: 0.5 } }
projection { source: "E" target: "I" fixed_indegree { indegree: 10 } weight_mV { uniform { low: 0.1 high: 0.5 } }
             delay_ms { constant: 0.5 } }
projection { source: "I" target: "E" fixed_indegree { indegree: 4 } weight_mV { constant: -1.5 } delay_ms { constant: 0.4 } }
projection { source: "I" target: "I" fixed_probability { p: 0.05 } weight_mV { constant: -1 } delay_ms { constant: 0.4 } }
projection { source: "I" target: "solo" all_to_all {} weight_mV { constant: 2 } delay_ms { constant: 0.4 } }
projection { source: "solo" target: "E" all_to_all {} weight_mV { constant: 0.1 } delay_ms { constant: 1 } }
record { spikes: "E" spikes: "I" spikes: "solo" voltage { population: "I" neuron: [0, 74] interval_ms: 0.3 } }
)";
    check_threads(load(text), 2000, {3u, 70u});
}

TEST_CASE("A network with tied projections runs in one partition") {
    const NetworkSpec spec =
        io::load_spec_file(std::string(SPIKEEM_SOURCE_DIR) + "/examples/gradient_alignment/energy.pbtxt").spec;
    Simulation sim(spec, 4, Partitioning::Exact);
    CHECK(sim.partitions() == 1);
}

TEST_CASE("Pair and triplet STDP with random delays give identical spikes and weights on 1 2 4 and 8 threads") {
    check_threads(load(kStdp), 2000);
}

TEST_CASE("Stochastic neurons with Eq. 1 give identical spikes and voltages and weights on 1 2 4 and 8 threads") {
    const NetworkSpec spec = load(kEq1);
    check_threads(spec, 300);
    Simulation sim(spec, 4, Partitioning::Exact);
    // Central: the smallest delay drawn (>= 2 ms) less the window 1.5 ms.
    CHECK(sim.lookahead() >= sim.time().round(0.5));
    CHECK(sim.lookahead() < sim.time().round(1.0));
}

TEST_CASE("A driver running in chunks with set_drive set_rate and the plasticity gain sees identical states") {
    // Phases as in the gradient experiments: chunks of run_until, drives and
    // rates changed between them, learning switched off and on, the slope log.
    const NetworkSpec spec = load(kEq1);
    std::vector<Fingerprint> runs;
    for (unsigned threads : {1u, 2u, 3u, 8u}) {
        Simulation sim(spec, threads, Partitioning::Exact);
        for (std::size_t j = 0; j < sim.num_projections(); ++j) sim.enable_slope_log(j);
        Fingerprint between;
        const Tick step = sim.time().round(37.3);
        for (int k = 1; k <= 12; ++k) {
            sim.run_until(step * k);
            sim.set_plasticity_gain(0, k % 3 == 0 ? 0.0 : 1.0 + 0.1 * k);
            sim.set_drive(2, static_cast<std::uint32_t>(k % 26), 0.1 * k);
            sim.set_drive(3, static_cast<std::uint32_t>(k % 9), 0.05 * k);
            sim.set_rate(0, static_cast<std::uint32_t>(k * 7 % 80), 5.0 * k);
            between.voltages.push_back(bits(sim.observe_voltage(2, static_cast<std::uint32_t>(k))));
            add_state(between, sim);
        }
        sim.run();
        Fingerprint f = finish(sim);
        f.voltages.insert(f.voltages.end(), between.voltages.begin(), between.voltages.end());
        f.weights.insert(f.weights.end(), between.weights.begin(), between.weights.end());
        runs.push_back(std::move(f));
    }
    REQUIRE(runs[0].slope_log.size() > 1000);
    for (std::size_t r = 1; r < runs.size(); ++r) CHECK(runs[r] == runs[0]);
}

TEST_CASE("A network whose lookahead is 0 runs in one partition") {
    // Central difference with the delay equal to the window: V(t - T) is read at the very tick of the spike.
    NetworkSpec spec = load(kEq1);
    spec.projections[0].delay_ms = 1.5;
    Simulation sim(spec, 4, Partitioning::Exact);
    CHECK(sim.partitions() == 1);
    CHECK(sim.lookahead() == 0);
    const Fingerprint one = run_whole(spec, 1);
    sim.run();
    CHECK(finish(sim) == one);
}

TEST_CASE("Eight partitions on one TBB thread or on all give the same result") {
    // Fewer threads than partitions: runners take several partitions each, and
    // with one thread a single runner runs them all in turn.
    const NetworkSpec spec = load(kStdp);
    const Fingerprint one = run_whole(spec, 1);
    {
        tbb::global_control limit(tbb::global_control::max_allowed_parallelism, 1);
        CHECK(run_whole(spec, 8) == one);
    }
    CHECK(run_whole(spec, 8) == one);
}

TEST_CASE("Runs in chunks that end at and around the LIF rebase instants equal whole runs on 1 and 3 threads") {
    // cuba_delta's rebase period is 40 tau_m = 800 ms: chunk ends at it, just
    // before and just after it must not move the instant the u's are rescaled.
    NetworkSpec spec = io::load_spec_file(std::string(SPIKEEM_SOURCE_DIR) + "/examples/benchmarks/cuba_delta.pbtxt").spec;
    spec.run.duration_ms = 1700.0;
    const Fingerprint whole = run_whole(spec, 1);
    for (unsigned threads : {1u, 3u}) {
        CAPTURE(threads);
        Simulation sim(spec, threads, Partitioning::Exact);
        const Tick period = sim.time().round(800.0);
        for (Tick end : {period - 1, period, period + 1, 2 * period - 7, 2 * period, 2 * period + 3})
            sim.run_until(end);
        sim.run();
        CHECK(finish(sim) == whole);
    }
}

// The work estimate of PartitionPlan, by hand: 100 Poisson sources at 50 Hz,
// 10 neurons (nominal 10 Hz), 1000 synapses from the sources, 10 neurons with
// 3 Poisson inputs of 100 Hz each, an epoch of 2 ms:
//   per ms = (100 x 50 + 10 x 10) / 1000 + 1000 x 50 / 1000 + 10 x 3 x 100 / 1000 = 58.1
constexpr const char* kWork = R"(
run { duration_ms: 50 seed: 3 }
population { name: "src" size: 100 poisson { rate_hz: 50 } }
population { name: "lif" size: 10 lif_delta { tau_m_ms: 20 v_rest_mV: -65 v_th_mV: -50 v_reset_mV: -65 t_ref_ms: 2 } }
projection { source: "src" target: "lif" all_to_all {} weight_mV { constant: 0.5 } delay_ms { constant: 2 } }
poisson_input { name: "drive" target: "lif" rate_hz: 100 sources: 3 weight_mV: 0.1 }
)";

TEST_CASE("Partitions by work: the estimate per epoch, and fewer partitions than threads when it is small") {
    const NetworkSpec spec = load(kWork);
    const Simulation exact(spec, 4, Partitioning::Exact), by_work(spec, 4);
    const double expected = 58.1 * 2.0;
    CHECK(by_work.partition_plan().events_per_epoch == doctest::Approx(expected).epsilon(1e-12));
    // 116 events per epoch are far below a partition's 2000: one partition, and why.
    CHECK(by_work.partitions() == 1);
    CHECK(by_work.partition_plan().limit == "work");
    CHECK(by_work.partition_plan().threads == 4);
    // Exact splits anyway, and the plan still says what the work allows.
    CHECK(exact.partitions() == 4);
    CHECK(exact.partition_plan().by_work == 1);
    CHECK(exact.partition_plan().limit.empty());
    // 1000 times the sources' rate: 116 100 events per epoch, enough for
    // 58 partitions, so every thread asked for gets one.
    NetworkSpec busy = spec;
    std::get<PoissonParams>(busy.populations[0].model).rate_hz = 50'000.0;
    const Simulation split(busy, 4);
    CHECK(split.partition_plan().events_per_epoch ==
          doctest::Approx((100 * 50'000.0 + 100 + 1000 * 50'000.0 + 3000) / 1000 * 2).epsilon(1e-12));
    CHECK(split.partitions() == 4);
    CHECK(split.partition_plan().limit.empty());
    // Between: 6100 events per epoch make 3 partitions of at least 2000.
    std::get<PoissonParams>(busy.populations[0].model).rate_hz = (6100.0 / 2.0 - 0.1 - 3.0) * 1000.0 / 1100.0;
    const Simulation three(busy, 4);
    CHECK(three.partition_plan().events_per_epoch == doctest::Approx(6100.0).epsilon(1e-9));
    CHECK(three.partitions() == 3);
    // The choice changes nothing computed.
    Simulation chosen(spec, 4);
    chosen.run();
    CHECK(finish(chosen) == run_whole(spec, 4));
}

TEST_CASE("Partitions by work: a network without projections gets every thread, one with lookahead 0 none") {
    NetworkSpec spec = load(kWork);
    spec.projections.clear();
    const Simulation free_running(spec, 3);
    CHECK(free_running.lookahead() == kNever);
    CHECK(free_running.partitions() == 3);
    NetworkSpec zero = load(kEq1);
    zero.projections[0].delay_ms = 1.5;
    const Simulation stuck(zero, 4);
    CHECK(stuck.partitions() == 1);
    CHECK(stuck.partition_plan().limit == "lookahead 0");
}
