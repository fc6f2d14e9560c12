// Poisson input straight into neurons (poisson_input): the membrane against an
// independent reconstruction of the documented input trains, counts against
// the Poisson law (alpha stated per check), ranges, thread counts, and the
// spec checks.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "file_helpers.hpp"
#include "helpers.hpp"
#include "io/spec_loader.hpp"
#include "network/poisson_input.hpp"
#include "sim/random.hpp"
#include "stats.hpp"

using namespace spikeem;
using namespace spikeem::test;

namespace {

// A neuron that never fires: threshold far above anything the inputs reach.
LifDeltaParams silent(double tau_m_ms) {
    LifDeltaParams p;
    p.tau_m_ms = tau_m_ms;
    p.v_th_mV = 1e9;
    return p;
}

PoissonInputSpec input(const std::string& target, double rate_hz, std::uint32_t sources, double weight_mV) {
    PoissonInputSpec in;
    in.name = "drive";
    in.target = target;
    in.rate_hz = rate_hz;
    in.sources = sources;
    in.weight_mV = weight_mV;
    return in;
}

// The input ticks of neuron i as documented: one Poisson train of sources *
// rate_hz from the stream (seed, poisson_input domain, hash of the name, i),
// intervals in double ms from start_ms, each arrival rounded to the tick.
std::vector<Tick> reference_inputs(const PoissonInputSpec& in, std::uint64_t seed, std::uint32_t i) {
    RandomStream rng(seed, rng_domain::kPoissonInput, stable_hash(in.name), i);
    std::vector<Tick> out;
    const TimeBase tb;
    for (double t = in.start_ms + rng.exponential(1000.0 / (in.rate_hz * in.sources)); t < in.stop_ms;
         t += rng.exponential(1000.0 / (in.rate_hz * in.sources)))
        out.push_back(tb.round(t));
    return out;
}

}  // namespace

TEST_CASE("poisson_input: the membrane is the sum of the documented input trains' PSPs") {
    NetworkSpec s;
    s.run.duration_ms = 300.0;
    s.run.seed = 17;
    s.populations = {lif("n", 2, silent(20.0))};
    PoissonInputSpec in = input("n", 100.0, 3, 0.5);
    in.start_ms = 10.0;
    in.stop_ms = 200.0;
    s.poisson_inputs = {in};
    s.record.voltages = {VoltageProbeSpec{"n", {}, 0.1}};
    Simulation sim(s);
    sim.run();

    for (std::uint32_t i = 0; i < 2; ++i) {
        const std::vector<Tick> arrivals = reference_inputs(in, 17, i);
        CHECK(arrivals.size() > 30);  // 300 Hz for 190 ms: ~57 inputs
        for (const VoltageSample& v : sim.voltages()) {
            if (v.neuron != i) continue;
            double expected = -70.0;  // inputs at the sample's own tick count (they come before samples)
            for (Tick a : arrivals)
                if (a <= v.t) expected += 0.5 * std::exp(-ms(v.t - a) / 20.0);
            REQUIRE(v.v_mV == doctest::Approx(expected).epsilon(1e-10));
        }
    }
    CHECK(sim.synaptic_events() == reference_inputs(in, 17, 0).size() + reference_inputs(in, 17, 1).size());
}

TEST_CASE("poisson_input: counts per neuron are Poisson(sources * rate * T) (alpha = 0.001 per check)") {
    // tau_m of 1e9 ms: V - v_rest counts the inputs times the weight (decay below 1e-6).
    const std::uint32_t n = 300;
    const double T_ms = 1000.0, rate = 5.0;
    const std::uint32_t sources = 10;
    NetworkSpec s;
    s.run.duration_ms = T_ms;
    s.run.seed = 5;
    s.populations = {lif("n", n, silent(1e9))};
    s.poisson_inputs = {input("n", rate, sources, 1.0)};
    Simulation sim(s);
    sim.run();
    const double mean = rate * sources * T_ms / 1000.0;  // 50
    double total = 0.0, dispersion = 0.0;
    for (std::uint32_t i = 0; i < n; ++i) {
        const double count = std::round(sim.observe_voltage(0, i) + 70.0);
        total += count;
        dispersion += (count - mean) * (count - mean) / mean;
    }
    CHECK(std::abs(total - n * mean) / std::sqrt(n * mean) < kZ);
    // Index of dispersion: chi-square with n - 1 degrees of freedom, normal approximation.
    CHECK(std::abs(dispersion - (n - 1)) / std::sqrt(2.0 * (n - 1)) < kZ);
}

TEST_CASE("poisson_input: only the target range receives input, and a neuron's train does not depend on it") {
    NetworkSpec s;
    s.run.duration_ms = 100.0;
    s.populations = {lif("n", 10, silent(20.0))};
    PoissonInputSpec in = input("n", 200.0, 1, 1.0);
    in.target_range = NeuronRange{3, 6};
    s.poisson_inputs = {in};
    Simulation ranged(s);
    ranged.run();
    s.poisson_inputs[0].target_range.reset();
    Simulation whole(s);
    whole.run();
    for (std::uint32_t i = 0; i < 10; ++i) {
        CAPTURE(i);
        if (i >= 3 && i < 6) CHECK(ranged.observe_voltage(0, i) == whole.observe_voltage(0, i));
        else CHECK(ranged.observe_voltage(0, i) == -70.0);
    }
}

TEST_CASE("poisson_input: drawn window by window, each arrival comes once, in the window of its tick") {
    // Ticks of 1 ms and 3 kHz: most ticks hold arrivals, so many fall on the
    // edges of the windows.  Neurons 2..9 of a population of 12 are targets;
    // a partition owning neurons 4..10 draws them.
    PoissonInputSpec in = input("n", 1000.0, 3, 1.0);
    in.start_ms = 5.0;
    in.stop_ms = 60.0;
    in.target_range = NeuronRange{2, 10};
    for (const Tick width : {Tick{1}, Tick{2}, Tick{3}, Tick{50}}) {
        CAPTURE(width);
        const TimeBase tb(0);
        PoissonInput drive(in, 7, 0, 12, 100, tb, 23);
        CHECK(drive.targets_in(4, 11) == 6);
        CHECK(drive.targets_in(10, 12) == 0);
        drive.start();
        std::vector<std::vector<Tick>> got(12);
        Tick from = 0;
        bool more = true;
        for (; more && from < 1000; from += width) {
            std::vector<InputArrival> out;
            more = drive.fill(from, from + width, 4, 11, out);
            for (const InputArrival& a : out) {
                REQUIRE(a.t >= from);
                REQUIRE(a.t < from + width);
                REQUIRE(a.neuron >= 104);
                REQUIRE(a.neuron < 110);
                CHECK(a.input == 7);
                got[a.neuron - 100].push_back(a.t);
            }
        }
        CHECK(!more);          // it says when its trains have ended ...
        CHECK(from < 62 + 2 * width);  // ... at most a window after the first that starts past stop_ms
        for (std::uint32_t i = 0; i < 12; ++i) {
            CAPTURE(i);
            std::vector<Tick> want;
            if (i >= 4 && i < 10) {
                RandomStream rng(23, rng_domain::kPoissonInput, stable_hash(in.name), i);
                for (double t = in.start_ms + rng.exponential(1.0 / 3.0); t < in.stop_ms; t += rng.exponential(1.0 / 3.0))
                    want.push_back(tb.round(t));
                CHECK(want.size() > 100);
            }
            CHECK(got[i] == want);
        }
    }
}

TEST_CASE("poisson_input: a recurrent network driven by it gives the same spikes on 1, 2 and 3 threads") {
    NetworkSpec s;
    s.run.duration_ms = 300.0;
    s.run.seed = 3;
    LifDeltaParams p;
    p.tau_m_ms = 20.0;
    p.v_init_mV = UniformDist{-70.0, -56.0};
    s.populations = {lif("E", 400, p), lif("I", 100, p)};
    for (const char* pre : {"E", "I"})
        for (const char* post : {"E", "I"})
            s.projections.push_back(connect(pre, post, FixedProbability{0.1}, pre[0] == 'E' ? 0.2 : -1.0, 1.5));
    s.poisson_inputs = {input("E", 10.0, 800, 0.2), input("I", 10.0, 800, 0.2)};
    s.poisson_inputs[1].name = "drive_I";
    s.record.spike_populations = {"E", "I"};
    auto spikes = [&](unsigned threads) {
        Simulation sim(s, threads, Partitioning::Exact);
        sim.run();
        std::vector<std::tuple<Tick, std::uint32_t, std::uint32_t>> out;
        for (const auto& r : sim.sorted_spikes()) out.emplace_back(r.t, r.population, r.neuron);
        return out;
    };
    const auto one = spikes(1);
    CHECK(one.size() > 1000);
    CHECK(spikes(2) == one);
    CHECK(spikes(3) == one);
}

TEST_CASE("poisson_input: the spec checks name the field, the value and the rule") {
    const std::string head =
        "run { duration_ms: 10 }\n"
        "population { name: \"n\" size: 4 lif_delta {} }\n"
        "population { name: \"src\" size: 4 poisson { rate_hz: 1 } }\n";
    auto error = [&](const std::string& body) {
        return error_of<io::SpecError>([&] { io::load_spec_text(head + body, "s"); });
    };
    CHECK(error("poisson_input { target: \"n\" rate_hz: 10 weight_mV: 0.5 sources: 100 }") == "");
    CHECK(error("poisson_input { target: \"src\" rate_hz: 10 weight_mV: 0.5 }").find("poisson_input[0].target") !=
          std::string::npos);
    CHECK(error("poisson_input { target: \"x\" rate_hz: 10 weight_mV: 0.5 }").find("no such population") !=
          std::string::npos);
    CHECK(error("poisson_input { rate_hz: 10 weight_mV: 0.5 }").find("poisson_input[0].target: required") !=
          std::string::npos);
    CHECK(error("poisson_input { target: \"n\" rate_hz: -1 weight_mV: 0.5 }").find("rate_hz = -1: must be >= 0") !=
          std::string::npos);
    CHECK(error("poisson_input { target: \"n\" rate_hz: 1e6 sources: 100 weight_mV: 0.5 }")
              .find("sources * rate_hz = 100000000 Hz per neuron: must be <= 1e7 Hz") != std::string::npos);
    CHECK(error("poisson_input { target: \"n\" rate_hz: 10 sources: 0 weight_mV: 0.5 }").find("sources = 0") !=
          std::string::npos);
    CHECK(error("poisson_input { target: \"n\" rate_hz: 10 }").find("weight_mV = 0: required") != std::string::npos);
    CHECK(error("poisson_input { target: \"n\" rate_hz: 10 weight_mV: 1 start_ms: 5 stop_ms: 5 }")
              .find("stop_ms = 5: must be > start_ms = 5 (ms)") != std::string::npos);
    CHECK(error("poisson_input { target: \"n\" rate_hz: 10 weight_mV: 1 target_neurons { begin: 2 end: 9 } }")
              .find("poisson_input[0].target_neurons.end = 9: must be <= the population size 4") != std::string::npos);
    CHECK(error("poisson_input { name: \"a\" target: \"n\" rate_hz: 1 weight_mV: 1 }\n"
                "poisson_input { name: \"a\" target: \"n\" rate_hz: 1 weight_mV: 1 }")
              .find("must be unique") != std::string::npos);
}
