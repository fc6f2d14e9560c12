// Rate read-outs (record.rate, RateProbeSpec): COUNT and EXP against direct
// computations from the recorded spike times and against Poisson statistics,
// MODEL against the closed form rho(V) and against the empirical rate, the
// spec syntax, rates.csv, and that reading rates does not perturb a run.
//
// Statistical checks use fixed seeds (so every check is deterministic) and
// state their significance level alpha: the chance that a correct
// implementation fails the check for a random seed.  Deterministic checks state
// their tolerance and why rounding alone meets it.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "helpers.hpp"
#include "stats.hpp"
#include "io/outputs.hpp"
#include "io/spec_loader.hpp"

using namespace spikeem;
using namespace spikeem::test;
namespace fs = std::filesystem;

namespace {

RateProbeSpec count_probe(const std::string& pop, std::vector<std::uint32_t> neurons, double interval, double window) {
    RateProbeSpec r;
    r.population = pop;
    r.neurons = std::move(neurons);
    r.interval_ms = interval;
    r.readout = RateReadout::Count;
    r.window_ms = window;
    return r;
}
RateProbeSpec exp_probe(const std::string& pop, std::vector<std::uint32_t> neurons, double interval, double tau) {
    RateProbeSpec r = count_probe(pop, std::move(neurons), interval, 100.0);
    r.readout = RateReadout::Exp;
    r.tau_ms = tau;
    return r;
}
RateProbeSpec model_probe(const std::string& pop, std::vector<std::uint32_t> neurons, double interval) {
    RateProbeSpec r = count_probe(pop, std::move(neurons), interval, 100.0);
    r.readout = RateReadout::Model;
    return r;
}

std::uint32_t pop_index(const Simulation& sim, const std::string& name) {
    for (std::uint32_t i = 0; i < sim.num_populations(); ++i)
        if (sim.population(i).name() == name) return i;
    FAIL("no population " << name);
    return 0;
}

std::vector<RateSample> samples_of(const Simulation& sim, std::uint32_t probe) {
    std::vector<RateSample> out;
    for (const auto& r : sim.rate_samples())
        if (r.probe == probe) out.push_back(r);
    return out;
}

struct TempDir {
    fs::path path;
    TempDir() {
        std::random_device rd;
        for (int i = 0; i < 100; ++i) {
            path = fs::temp_directory_path() / ("spikeem_test_readouts_" + std::to_string(rd()));
            if (fs::create_directory(path)) return;
        }
        throw std::runtime_error("cannot create a temp directory");
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

std::vector<std::string> read_lines(const fs::path& p) {
    std::ifstream in(p);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

}  // namespace

// 200 Poisson neurons at lambda = 50 Hz for 20 s.  COUNT with a 10 s window
// read at t = 10 s and 20 s sees the disjoint windows [0, 10) s and [10, 20) s:
// the pooled count is Poisson(lambda * 200 * 20 s), so the mean rate has
// std sqrt(lambda / 4000 s) = 0.11 Hz.  EXP with tau = 1 s read at t = 20 s
// (x/tau at 20 tau: bias e^-20, negligible) is shot noise with mean lambda and
// variance lambda / (2 tau) per neuron (Campbell), so the mean over 200
// independent neurons has std sqrt(50 / 400) = 0.35 Hz.  Each check: alpha = 0.001.
TEST_CASE("readouts: COUNT and EXP of a Poisson source recover its rate") {
    constexpr double kRate = 50.0;
    constexpr std::uint32_t kN = 200;
    NetworkSpec s;
    s.run.duration_ms = 20000.5;
    s.run.seed = 11;
    s.populations = {poisson("P", kN, kRate)};
    s.record.rates = {count_probe("P", {}, 10000.0, 10000.0), exp_probe("P", {}, 10000.0, 1000.0)};
    Simulation sim(s);
    sim.run();

    const auto count = samples_of(sim, 0), expo = samples_of(sim, 1);
    REQUIRE(count.size() == 3 * kN);  // t = 0, 10 s, 20 s
    REQUIRE(expo.size() == 3 * kN);
    double count_mean = 0.0, exp_mean = 0.0;
    for (std::size_t k = 0; k < count.size(); ++k) {
        CHECK(count[k].readout == RateReadout::Count);
        CHECK(expo[k].readout == RateReadout::Exp);
        if (count[k].t == 0) {
            // Nothing before t = 0 (a spike at t = 0 counts from the next sample on).
            CHECK(count[k].rate_hz == 0.0);
            CHECK(expo[k].rate_hz == 0.0);
            continue;
        }
        count_mean += count[k].rate_hz / (2.0 * kN);
        if (count[k].t == sim.time().round(20000.0)) exp_mean += expo[k].rate_hz / kN;
    }
    const double count_tol = kZ * std::sqrt(kRate / (kN * 20.0));
    const double exp_tol = kZ * std::sqrt(kRate / (2.0 * 1.0 * kN));
    CAPTURE(count_mean);
    CAPTURE(exp_mean);
    CHECK(std::abs(count_mean - kRate) <= count_tol);  // 0.37 Hz
    CHECK(std::abs(exp_mean - kRate) <= exp_tol);      // 1.16 Hz
}

// Deterministic: every COUNT sample equals the number of recorded spikes in
// [t - W, t) divided by W (the same arithmetic: exact equality), and every EXP
// sample equals sum over t_k < t of exp(-(t - t_k)/tau) / tau computed directly
// (relative 1e-12: the engine multiplies decay factors spike by spike, the
// direct sum takes one exp per spike; both are a few ulp from the truth).
// A spike_times population puts spikes exactly on sample times and two
// neurons in one tick, and the probes list neurons out of order and twice.
TEST_CASE("readouts: COUNT and EXP equal direct computations from the recorded spikes") {
    NetworkSpec s;
    s.run.duration_ms = 1500.0;
    s.run.seed = 5;
    s.populations = {poisson("P", 6, 80.0),
                     spike_times("T", {{1.0, 10.0, 10.0005, 30.5, 31.0}, {}, {10.0, 55.25, 400.0}})};
    s.record.spike_populations = {"P", "T"};
    s.record.rates = {count_probe("P", {}, 0.7, 37.5), exp_probe("P", {}, 0.7, 25.0),
                      count_probe("T", {2, 0, 2}, 0.5, 20.0), exp_probe("T", {2, 0, 2}, 0.5, 3.0),
                      exp_probe("P", {4}, 0.25, 0.5)};
    Simulation sim(s);
    sim.run();
    const TimeBase& tb = sim.time();

    // Order: time, then probe, then the probe's neuron list order.
    const auto& all = sim.rate_samples();
    for (std::size_t k = 1; k < all.size(); ++k) {
        const RateSample &a = all[k - 1], &b = all[k];
        CHECK((a.t < b.t || (a.t == b.t && a.probe <= b.probe)));
    }

    std::size_t checked = 0, nonzero = 0;
    for (std::uint32_t probe = 0; probe < s.record.rates.size(); ++probe) {
        const RateProbeSpec& rp = s.record.rates[probe];
        const std::uint32_t pop = pop_index(sim, rp.population);
        const auto spikes = trains(sim, pop);
        std::vector<std::uint32_t> neurons = rp.neurons;
        if (neurons.empty())
            for (std::uint32_t i = 0; i < sim.population(pop).size(); ++i) neurons.push_back(i);
        const auto samples = samples_of(sim, probe);
        const Tick interval = tb.round(rp.interval_ms);
        REQUIRE(samples.size() == neurons.size() * static_cast<std::size_t>((sim.duration_ticks() + interval - 1) / interval));
        for (std::size_t k = 0; k < samples.size(); ++k) {
            const RateSample& r = samples[k];
            CAPTURE(probe);
            CAPTURE(tb.format_ms(r.t));
            REQUIRE(r.t == static_cast<Tick>(k / neurons.size()) * interval);
            REQUIRE(r.neuron == neurons[k % neurons.size()]);
            REQUIRE(r.population == pop);
            const auto& tr = spikes[r.neuron];
            if (rp.readout == RateReadout::Count) {
                const Tick w = tb.round(rp.window_ms);
                const auto n = std::count_if(tr.begin(), tr.end(), [&](Tick t) { return t >= r.t - w && t < r.t; });
                CHECK(r.rate_hz == static_cast<double>(n) / tb.to_ms(w) * 1000.0);
            } else {
                double x = 0.0;
                for (Tick t : tr)
                    if (t < r.t) x += std::exp(-tb.to_ms(r.t - t) / rp.tau_ms);
                const double expect = x / rp.tau_ms * 1000.0;
                CHECK(std::abs(r.rate_hz - expect) <= 1e-12 * std::max(1.0, std::abs(expect)));
            }
            ++checked;
            nonzero += r.rate_hz > 0.0;
        }
    }
    CHECK(checked > 40000);
    CHECK(nonzero > checked / 2);

    // Spikes on sample times count from the next sample on: T neuron 0 fires at
    // 10 ms and 10.0005 ms; COUNT (W = 20 ms) at 10 ms sees only the one at 1 ms.
    // The window [t - W, t) is closed on the left.
    for (const RateSample& r : samples_of(sim, 2)) {
        if (r.neuron != 0) continue;
        if (r.t == tb.round(10.0)) CHECK(r.rate_hz == 1000.0 / 20.0);
        if (r.t == tb.round(10.5)) CHECK(r.rate_hz == 3000.0 / 20.0);
        if (r.t == tb.round(21.0)) CHECK(r.rate_hz == 3000.0 / 20.0);  // [1, 21): t - W itself counts
        if (r.t == tb.round(21.5)) CHECK(r.rate_hz == 2000.0 / 20.0);  // 1 ms has left [1.5, 21.5)
    }
}

// A noise-free stochastic neuron without input and without reset keeps
// V = v_rest + drive, so every MODEL sample is rho(V) in closed form
// (relative 1e-12: one sigmoid evaluation).  Its spikes are then a Poisson
// process at that rate: over 40 neurons for 50 s the count is
// Poisson(rho * 2000 s), so the empirical rate is within kZ sqrt(rho / 2000 s)
// of rho (alpha = 0.001).
TEST_CASE("readouts: MODEL equals rho(V) of a stochastic neuron at constant V") {
    StochasticParams p;
    p.tau_m_ms = 10.0;
    p.v_rest_mV = -0.5;
    p.drive_mV = 1.3;  // V = 0.8 mV
    p.rho_max_hz = 200.0;
    p.beta_per_mV = 10.0;
    p.theta_mV = 1.0;
    p.v_init_mV = 0.8;
    const double rho = 200.0 / (1.0 + std::exp(-10.0 * (0.8 - 1.0)));  // 23.84 Hz
    NetworkSpec s;
    s.run.duration_ms = 50000.0;
    s.run.seed = 3;
    s.populations = {stochastic("S", 40, p)};
    s.record.spike_populations = {"S"};
    s.record.rates = {model_probe("S", {}, 97.0)};
    Simulation sim(s);
    sim.run();
    REQUIRE(sim.rate_samples().size() == 40 * 516);  // t = 0, 97, ..., 49955 ms
    for (const RateSample& r : sim.rate_samples()) {
        CHECK(r.readout == RateReadout::Model);
        CHECK(std::abs(r.rate_hz - rho) <= 1e-12 * rho);
    }
    const double empirical = static_cast<double>(sim.sorted_spikes().size()) / (40 * 50.0);
    CAPTURE(empirical);
    CHECK(std::abs(empirical - rho) <= kZ * std::sqrt(rho / (40 * 50.0)));  // 0.36 Hz
}

// With Ornstein-Uhlenbeck noise and no reset, V does not depend on the
// neuron's own spikes, and given the path the spike count is Poisson with mean
// Lambda = integral of rho(V(t)) dt.  MODEL samples every 0.5 ms estimate
// Lambda by a Riemann sum: over 20 neurons for 10 s the count is ~6000
// (std ~77), while the grid error is about a spike (V varies on tau_m = 10 ms:
// ~4e5 cells of error ~h sigma_rho sqrt(h / tau_m) each, of either sign).
// So |count - Lambda_hat| <= kZ sqrt(Lambda_hat) + 5 (alpha = 0.001, plus a
// margin for the grid error).
TEST_CASE("readouts: the mean of MODEL samples matches the empirical rate of noisy stochastic neurons") {
    StochasticParams p;
    p.tau_m_ms = 10.0;
    p.drive_mV = 0.8;
    p.noise_sigma_mV = 0.5;
    p.rho_max_hz = 100.0;
    p.beta_per_mV = 5.0;
    p.theta_mV = 1.0;
    p.v_init_mV = 0.8;
    constexpr std::uint32_t kN = 20;
    NetworkSpec s;
    s.run.duration_ms = 10000.0;
    s.run.seed = 17;
    s.populations = {stochastic("S", kN, p)};
    s.record.spike_populations = {"S"};
    s.record.rates = {model_probe("S", {}, 0.5)};
    Simulation sim(s);
    sim.run();
    REQUIRE(sim.rate_samples().size() == kN * 20000);
    double lambda = 0.0, lo = 1e9, hi = 0.0;
    for (const RateSample& r : sim.rate_samples()) {
        lambda += r.rate_hz * 0.5 / 1000.0;
        lo = std::min(lo, r.rate_hz);
        hi = std::max(hi, r.rate_hz);
    }
    const double count = static_cast<double>(sim.sorted_spikes().size());
    CAPTURE(count);
    CAPTURE(lambda);
    CHECK(hi - lo > 20.0);  // the rate really fluctuates
    CHECK(std::abs(count - lambda) <= kZ * std::sqrt(lambda) + 5.0);
}

// COUNT and EXP are functions of the spike times, and MODEL reads V like a
// voltage probe (read-only without noise): adding them to a chaotic LIF network
// with a noise-free stochastic population in the loop changes no spike and no
// voltage sample.  With noise, COUNT and EXP still change nothing, while MODEL
// draws the noise up to each sample time and so changes the realisation (not
// its statistics), as documented.
TEST_CASE("readouts: reading rates does not change the spikes") {
    StochasticParams p;
    p.tau_m_ms = 10.0;
    p.drive_mV = 0.5;
    p.beta_per_mV = 4.0;
    p.v_reset_mV = 0.0;
    p.t_ref_ms = 1.0;
    auto build = [&](bool probes, double noise) {
        NetworkSpec s = small_cuba(21, 300.0);
        StochasticParams q = p;
        q.noise_sigma_mV = noise;
        s.populations.push_back(stochastic("S", 50, q));
        s.projections.push_back(connect("E", "S", FixedProbability{0.1}, 0.3, 0.5));
        s.projections.push_back(connect("S", "I", FixedProbability{0.1}, 0.5, 0.7));
        s.record.spike_populations.push_back("S");
        s.record.voltages.push_back(VoltageProbeSpec{"S", {0, 7}, 0.5});
        if (probes)
            s.record.rates = {count_probe("E", {}, 0.3, 10.0), exp_probe("I", {}, 0.3, 5.0),
                              model_probe("S", {}, 0.1), count_probe("S", {3, 4}, 1.0, 2.0),
                              exp_probe("drive", {}, 0.2, 1.0)};
        return s;
    };
    for (double noise : {0.0, 0.5}) {
        CAPTURE(noise);
        Simulation plain(build(false, noise)), probed(build(true, noise));
        plain.run();
        probed.run();
        CHECK(plain.sorted_spikes().size() > 1000);
        CHECK(probed.rate_samples().size() > 100000);
        const bool same = same_spikes(plain.sorted_spikes(), probed.sorted_spikes());
        if (noise == 0.0) {
            CHECK(same);
            REQUIRE(plain.voltages().size() == probed.voltages().size());
            bool same_v = true;
            for (std::size_t k = 0; k < plain.voltages().size(); ++k)
                same_v = same_v && plain.voltages()[k].v_mV == probed.voltages()[k].v_mV;
            CHECK(same_v);
        } else {
            CHECK_FALSE(same);  // MODEL on noisy neurons: a different realisation
            // Without the MODEL probe the probed run has the same spikes.
            NetworkSpec s = build(true, noise);
            s.record.rates.erase(s.record.rates.begin() + 2);
            Simulation counted(s);
            counted.run();
            CHECK(same_spikes(plain.sorted_spikes(), counted.sorted_spikes()));
        }
    }
}

TEST_CASE("readouts: spec syntax, rates.csv, and its removal when no rate probe exists") {
    const std::string with_rates = R"pb(
run { duration_ms: 10 resolution_ns: 1000 }
population { name: "P" size: 3 spike_times { train { neuron: 1 t_ms: [2, 4.5] } } }
population { name: "S" size: 2 stochastic { drive_mV: 1 } }
record {
  rate { population: "P" neuron: [1, 0] interval_ms: 5 readout: COUNT window_ms: 5 }
  rate { population: "P" interval_ms: 4 readout: EXP tau_ms: 2.5 }
  rate { population: "S" neuron: 1 interval_ms: 6 readout: MODEL }
  rate { population: "P" neuron: 2 interval_ms: 5 window_ms: 1 }
}
)pb";
    const io::LoadedSpec loaded = io::load_spec_text(with_rates, "r.pbtxt");
    const auto& rates = loaded.spec.record.rates;
    REQUIRE(rates.size() == 4);
    CHECK(rates[0].population == "P");
    CHECK(rates[0].neurons == std::vector<std::uint32_t>{1, 0});
    CHECK(rates[0].interval_ms == 5.0);
    CHECK(rates[0].readout == RateReadout::Count);
    CHECK(rates[0].window_ms == 5.0);
    CHECK(rates[1].neurons.empty());
    CHECK(rates[1].readout == RateReadout::Exp);
    CHECK(rates[1].tau_ms == 2.5);
    CHECK(rates[2].readout == RateReadout::Model);
    CHECK(rates[3].readout == RateReadout::Count);  // the default
    CHECK(rates[3].window_ms == 1.0);

    Simulation sim(loaded.spec);
    sim.run();
    TempDir dir;
    io::write_run_outputs(dir.path, sim, loaded, io::RunInfo{"r.pbtxt", 0.0});
    const auto lines = read_lines(dir.path / "rates.csv");
    const double rho = 200.0 / (1.0 + std::exp(-10.0 * (1.0 - 1.0)));  // V = drive = theta: rho_max / 2
    const std::string model_rho = fmt::format("{}", rho);
    const std::vector<std::string> expect = {
        "t_ms,population,neuron,readout,rate_hz",
        "0.000,P,1,count,0",
        "0.000,P,0,count,0",
        "0.000,P,0,exp,0",
        "0.000,P,1,exp,0",
        "0.000,P,2,exp,0",
        "0.000,S,1,model," + model_rho,
        "0.000,P,2,count,0",
        "4.000,P,0,exp,0",
        "4.000,P,1,exp," + fmt::format("{}", std::exp(-2.0 / 2.5) / 2.5 * 1000.0),
        "4.000,P,2,exp,0",
        "5.000,P,1,count,400",  // 2 spikes in [0, 5) / 5 ms
        "5.000,P,0,count,0",
        "5.000,P,2,count,0",
        "6.000,S,1,model," + model_rho,
        "8.000,P,0,exp,0",
        "8.000,P,1,exp," +
            fmt::format("{}", (std::exp(-2.5 / 2.5) + 1.0) * std::exp(-3.5 / 2.5) / 2.5 * 1000.0),
        "8.000,P,2,exp,0",
    };
    CHECK(lines == expect);

    // The same folder, a spec without rate probes: rates.csv goes away.
    const std::string without = R"pb(
run { duration_ms: 10 }
population { name: "P" size: 3 poisson { rate_hz: 10 } }
record { spikes: "P" }
)pb";
    const io::LoadedSpec plain = io::load_spec_text(without, "p.pbtxt");
    Simulation sim2(plain.spec);
    sim2.run();
    io::write_run_outputs(dir.path, sim2, plain, io::RunInfo{"p.pbtxt", 0.0});
    CHECK_FALSE(fs::exists(dir.path / "rates.csv"));
    CHECK(fs::exists(dir.path / "spikes.csv"));
}
