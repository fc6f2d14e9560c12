// Per-neuron parameters (Population.per_neuron) and injected currents
// (current_input) on the adex and stochastic models.
//
// Neuron by neuron: a population with spread parameters gives each neuron the
// spikes of the same neuron built with that neuron's drawn values as constants
// (re-derived here with per_neuron_values on the same PopulationSpec and seed),
// fed the same input.  The reference for neuron i is a population of the same
// name and size i + 1 with those constants, so that neuron i's random streams
// (initial state, thinning) are keyed alike and the trains must be identical.
// Then 1 and 2 threads, the loader's refusals, and currents into stochastic
// neurons against the closed-form rate (alpha stated per check).
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "file_helpers.hpp"
#include "helpers.hpp"
#include "io/spec_loader.hpp"
#include "network/models/adex.hpp"
#include "network/models/per_neuron.hpp"
#include "network/models/stochastic.hpp"
#include "stats.hpp"

using namespace spikeem;
using namespace spikeem::test;

namespace {

// P (population 0, the neurons under test), a spike_times source S of one
// neuron, S -> P all-to-all with jumps of `w_mV` after 0.5 ms, and optionally a
// step current into every neuron of P.
NetworkSpec driven(const PopulationSpec& p, const std::vector<double>& input_ms, double w_mV, double duration_ms,
                   std::uint64_t seed, const std::optional<StepCurrent>& current) {
    NetworkSpec s;
    s.run.duration_ms = duration_ms;
    s.run.seed = seed;
    s.populations = {p, spike_times("S", {input_ms})};
    s.projections = {connect("S", p.name, AllToAll{}, w_mV, 0.5)};
    if (current) {
        CurrentInputSpec c;
        c.name = "steps";
        c.target = p.name;
        c.kind = *current;
        s.current_inputs.push_back(c);
    }
    s.record.spike_populations = {p.name};
    return s;
}

std::vector<double> regular_ms(double first, double every, double end) {
    std::vector<double> t;
    for (double x = first; x < end; x += every) t.push_back(x);
    return t;
}

// Runs `spread` in the driven network, then each neuron i alone (a population
// of the same name and size i + 1 whose parameters are neuron i's draws, set by
// `assign(params, name, value)`), and checks that neuron i's trains agree to
// the tick.  Returns the total number of spikes compared.
template <class Params>
std::size_t check_neuron_by_neuron(const PopulationSpec& spread, const std::vector<double>& input_ms, double w_mV,
                                   double duration_ms, std::uint64_t seed, const std::optional<StepCurrent>& current,
                                   const std::function<void(Params&, const std::string&, double)>& assign) {
    Simulation sim(driven(spread, input_ms, w_mV, duration_ms, seed, current));
    sim.run();
    const std::vector<std::vector<Tick>> got = trains(sim, 0);
    std::size_t total = 0, distinct_trains = 0;
    for (std::uint32_t i = 0; i < spread.size; ++i) {
        CAPTURE(i);
        Params q = std::get<Params>(spread.model);
        for (const ParameterSpread& s : spread.per_neuron)
            assign(q, s.parameter, per_neuron_values(spread, s.parameter, 0.0, seed)[i]);
        const PopulationSpec alone{spread.name, i + 1, q};
        Simulation ref(driven(alone, input_ms, w_mV, duration_ms, seed, current));
        ref.run();
        const std::vector<Tick> want = spike_ticks(ref, 0, i);
        CHECK(got[i] == want);
        total += want.size();
        distinct_trains += i > 0 && got[i] != got[i - 1];
    }
    MESSAGE(total, " spikes compared over ", spread.size, " neurons");
    CHECK(distinct_trains + 1 >= spread.size / 2);  // the spreads do change the neurons
    return total;
}

void assign_adex(AdExParams& p, const std::string& name, double x) {
    const std::pair<const char*, double AdExParams::*> fields[] = {
        {"c_pF", &AdExParams::c_pF},         {"g_leak_nS", &AdExParams::g_leak_nS},
        {"e_leak_mV", &AdExParams::e_leak_mV}, {"v_t_mV", &AdExParams::v_t_mV},
        {"delta_t_mV", &AdExParams::delta_t_mV}, {"a_nS", &AdExParams::a_nS},
        {"tau_w_ms", &AdExParams::tau_w_ms}, {"b_pA", &AdExParams::b_pA},
        {"v_reset_mV", &AdExParams::v_reset_mV}, {"v_peak_mV", &AdExParams::v_peak_mV},
        {"t_ref_ms", &AdExParams::t_ref_ms}, {"i_e_pA", &AdExParams::i_e_pA},
        {"w_init_pA", &AdExParams::w_init_pA}};
    for (const auto& [n, f] : fields)
        if (name == n) {
            p.*f = x;
            return;
        }
    FAIL("no adex parameter ", name);
}

void assign_stochastic(StochasticParams& p, const std::string& name, double x) {
    if (name == "v_reset_mV") {
        p.v_reset_mV = x;
        return;
    }
    const std::pair<const char*, double StochasticParams::*> fields[] = {
        {"tau_m_ms", &StochasticParams::tau_m_ms},
        {"v_rest_mV", &StochasticParams::v_rest_mV},
        {"drive_mV", &StochasticParams::drive_mV},
        {"drive_slope_mV_per_ms", &StochasticParams::drive_slope_mV_per_ms},
        {"tau_syn_ms", &StochasticParams::tau_syn_ms},
        {"noise_sigma_mV", &StochasticParams::noise_sigma_mV},
        {"rho_max_hz", &StochasticParams::rho_max_hz},
        {"beta_per_mV", &StochasticParams::beta_per_mV},
        {"theta_mV", &StochasticParams::theta_mV},
        {"t_ref_ms", &StochasticParams::t_ref_ms}};
    for (const auto& [n, f] : fields)
        if (name == n) {
            p.*f = x;
            return;
        }
    FAIL("no stochastic parameter ", name);
}

// An adex population of 8 with every numeric parameter spread (ranges that keep
// v_reset < v_peak, v_peak > v_t and (v_peak - v_t)/delta_t <= 500 everywhere).
PopulationSpec adex_spread(std::uint32_t size) {
    AdExParams p;
    p.v_init_mV = -65.0;  // shared: the default would follow the shared e_leak_mV
    PopulationSpec ps{"P", size, p};
    ps.per_neuron = {{"c_pF", UniformDist{150.0, 250.0}},       {"g_leak_nS", UniformDist{8.0, 14.0}},
                     {"e_leak_mV", UniformDist{-72.0, -66.0}},  {"v_t_mV", UniformDist{-52.0, -48.0}},
                     {"delta_t_mV", UniformDist{1.5, 2.5}},     {"a_nS", UniformDist{-1.0, 4.0}},
                     {"tau_w_ms", UniformDist{30.0, 200.0}},    {"b_pA", UniformDist{0.0, 80.0}},
                     {"v_reset_mV", UniformDist{-62.0, -52.0}}, {"v_peak_mV", UniformDist{-20.0, 0.0}},
                     {"t_ref_ms", UniformDist{0.0, 2.0}},       {"i_e_pA", UniformDist{250.0, 500.0}},
                     {"w_init_pA", UniformDist{0.0, 20.0}}};
    return ps;
}

// A noiseless stochastic population with every numeric parameter but the noise spread.
PopulationSpec stochastic_spread(std::uint32_t size) {
    StochasticParams p;
    p.v_init_mV = 0.0;
    PopulationSpec ps{"P", size, p};
    ps.per_neuron = {{"tau_m_ms", UniformDist{8.0, 12.0}},
                     {"v_rest_mV", UniformDist{-1.0, 1.0}},
                     {"drive_mV", UniformDist{0.0, 1.0}},
                     {"drive_slope_mV_per_ms", UniformDist{-0.001, 0.002}},
                     {"tau_syn_ms", UniformDist{2.0, 5.0}},
                     {"rho_max_hz", UniformDist{100.0, 200.0}},
                     {"beta_per_mV", UniformDist{2.0, 5.0}},
                     {"theta_mV", UniformDist{0.5, 1.5}},
                     {"v_reset_mV", UniformDist{-2.0, -1.0}},
                     {"t_ref_ms", UniformDist{0.0, 3.0}}};
    return ps;
}

}  // namespace

TEST_CASE("adex with every parameter spread: each neuron spikes as the same neuron with its draws as constants") {
    const PopulationSpec ps = adex_spread(8);
    const std::vector<double> input = regular_ms(3.0, 7.3, 400.0);
    SUBCASE("jumps only") {
        CHECK(check_neuron_by_neuron<AdExParams>(ps, input, 3.0, 400.0, 11, std::nullopt, assign_adex) >= 40);
    }
    SUBCASE("jumps and a step current") {
        const StepCurrent steps{{50.0, 180.5, 300.0}, {15.0, -10.0, 0.0}};
        CHECK(check_neuron_by_neuron<AdExParams>(ps, input, 3.0, 400.0, 12, steps, assign_adex) >= 40);
    }
}

TEST_CASE("stochastic with its parameters spread: each neuron spikes as the same neuron with its draws as constants") {
    const std::vector<double> input = regular_ms(2.0, 5.1, 500.0);
    SUBCASE("noiseless, exponential currents, reset and refractoriness spread") {
        const PopulationSpec ps = stochastic_spread(8);
        CHECK(check_neuron_by_neuron<StochasticParams>(ps, input, 0.8, 500.0, 21, std::nullopt, assign_stochastic) >=
              100);
    }
    SUBCASE("noisy, voltage jumps, the noise spread, and a step current") {
        StochasticParams p;
        p.v_init_mV = 0.0;
        PopulationSpec ps{"P", 8, p};
        ps.per_neuron = {{"noise_sigma_mV", UniformDist{0.2, 2.0}},
                         {"tau_m_ms", UniformDist{5.0, 20.0}},
                         {"theta_mV", UniformDist{0.5, 1.5}}};
        const StepCurrent steps{{100.0, 300.0}, {1.0, -0.5}};
        CHECK(check_neuron_by_neuron<StochasticParams>(ps, input, 0.5, 500.0, 22, steps, assign_stochastic) >= 100);
    }
}

TEST_CASE("adex and stochastic with spreads and currents give identical spikes and voltages on 1 and 2 threads") {
    NetworkSpec s;
    s.run.duration_ms = 200.0;
    s.run.seed = 5;
    PopulationSpec a = adex_spread(120);
    a.name = "A";
    a.model = [] {
        AdExParams p;
        p.v_init_mV = UniformDist{-70.0, -60.0};
        return p;
    }();
    PopulationSpec st = stochastic_spread(120);
    st.name = "B";
    st.per_neuron.push_back({"noise_sigma_mV", UniformDist{0.0, 1.0}});
    s.populations = {a, st, poisson("drive", 120, 300.0)};
    const auto [from_e, from_i] = random_ei_pairs(120, 96, 0.05, 3);
    s.projections = {connect("A", "B", from_e, 0.5, 1.0), connect("B", "A", from_i, -2.0, 1.0),
                     connect("drive", "A", OneToOne{}, 2.0, 0.5), connect("drive", "B", OneToOne{}, 0.3, 0.5)};
    CurrentInputSpec ca, cb;
    ca.name = "ou_a";
    ca.target = "A";
    ca.kind = OuCurrent{5.0, 5.0, 5.0, 0.5};
    cb.name = "ou_b";
    cb.target = "B";
    cb.kind = OuCurrent{0.5, 0.5, 5.0, 0.5};
    s.current_inputs = {ca, cb};
    s.record.spike_populations = {"A", "B"};
    s.record.voltages = {VoltageProbeSpec{"A", {0, 50, 119}, 0.25}, VoltageProbeSpec{"B", {0, 60, 119}, 0.25}};
    const auto [one, p1] = spike_and_voltage_bits(s, 1);
    const auto [two, p2] = spike_and_voltage_bits(s, 2);
    CHECK(p2 == 2);
    MESSAGE(one.size(), " numbers compared");
    CHECK(one.size() > 3000);
    CHECK(one == two);
}

TEST_CASE("per_neuron on adex and stochastic: the loader names the field, the value and the rule") {
    auto error = [](const std::string& body) {
        return error_of<io::SpecError>([&] { io::load_spec_text(body, "s"); });
    };
    auto has = [](const std::string& e, const std::string& part) {
        CAPTURE(e);
        CHECK(e.find(part) != std::string::npos);
    };
    const std::string adex = "population { name: \"a\" size: 4 adex {} ";
    // tau_m_ms given: the loader's range of a parameter that is not spread is the
    // field as written (an absent one reads 0, not the model's default 10 ms).
    const std::string stoch = "population { name: \"s\" size: 4 stochastic { tau_m_ms: 10 } ";
    // A name the model does not spread: the message lists the ones it does.
    has(error(adex + "per_neuron { parameter: \"v_init_mV\" value { constant: -70 } } }"),
        "population \"a\".per_neuron[0].parameter = \"v_init_mV\": must be one of c_pF, g_leak_nS, e_leak_mV, v_t_mV, "
        "delta_t_mV, a_nS, tau_w_ms, b_pA, v_reset_mV, v_peak_mV, t_ref_ms, i_e_pA, w_init_pA");
    has(error(stoch + "per_neuron { parameter: \"v_th_mV\" value { constant: 1 } } }"),
        "population \"s\".per_neuron[0].parameter = \"v_th_mV\": must be one of tau_m_ms, v_rest_mV, drive_mV, "
        "drive_slope_mV_per_ms, tau_syn_ms, noise_sigma_mV, rho_max_hz, beta_per_mV, theta_mV, v_reset_mV, t_ref_ms");
    // A corner that breaks a rule: v_reset spread above v_peak (0 mV by default).
    has(error(adex + "per_neuron { parameter: \"v_reset_mV\" value { uniform { low: -60 high: 5 } } } }"),
        "per_neuron: at the end of the spread v_reset_mV = 5, the model refuses: adex.v_reset_mV = 5: must be < "
        "v_peak_mV = 0 (mV)");
    // The non-monotone-looking ratio (v_peak - v_t)/delta_t <= 500 at its worst corner.
    has(error(adex + "per_neuron { parameter: \"delta_t_mV\" value { uniform { low: 0.05 high: 2 } } } }"),
        "per_neuron: at the end of the spread delta_t_mV = 0.05, the model refuses: adex.v_peak_mV = 0: must be at "
        "most 500 delta_t_mV");
    has(error(adex + "per_neuron { parameter: \"c_pF\" value { uniform { low: -1 high: 200 } } } }"),
        "at the end of the spread c_pF = -1, the model refuses: adex.c_pF = -1");
    // Every neuron's v_init below its v_peak.
    has(error("population { name: \"a\" size: 4 adex { v_init_mV { constant: -45 } } "
              "per_neuron { parameter: \"v_peak_mV\" value { uniform { low: -50 high: 0 } } } }"),
        "the model refuses: adex.v_init_mV: every initial value must be below v_peak_mV = -50 (mV)");
    // stochastic: tau_syn must stay 0.1 % clear of tau_m over both ranges.
    has(error(stoch + "per_neuron { parameter: \"tau_syn_ms\" value { uniform { low: 5 high: 15 } } } }"),
        "population \"s\".per_neuron: tau_syn_ms ranges over [5, 15] and tau_m_ms over [10, 10] (ms)");
    has(error(stoch + "per_neuron { parameter: \"noise_sigma_mV\" value { uniform { low: -1 high: 1 } } } }"),
        "at the end of the spread noise_sigma_mV = -1, the model refuses: stochastic.noise_sigma_mV = -1");
    has(error("population { name: \"s\" size: 4 stochastic { tau_m_ms: 10 rate_function: SOFTPLUS } "
              "per_neuron { parameter: \"noise_sigma_mV\" value { uniform { low: 0 high: 1 } } } }"),
        "at the end of the spread noise_sigma_mV = 1, the model refuses: stochastic.noise_sigma_mV = 1: must be 0 "
        "with SOFTPLUS");
    // Accepted: a tau_syn range from 0 (voltage jumps) up to below tau_m, and every adex parameter at once.
    CHECK(error(stoch + "per_neuron { parameter: \"tau_syn_ms\" value { uniform { low: 0 high: 5 } } } }") == "");
    CHECK(error(adex + "per_neuron { parameter: \"v_peak_mV\" value { uniform { low: -40 high: 0 } } } "
                       "per_neuron { parameter: \"i_e_pA\" "
                       "value { normal { mean: 300 std: 50 min: 0 max: 600 } } } }") == "");
    // Currents go into both models now.
    CHECK(error(adex + "}\n" + stoch + "}\n" +
                "current_input { target: \"a\" dc { amplitude_mV { constant: 1 } } }\n"
                "current_input { target: \"s\" dc { amplitude_mV { constant: 1 } } }") == "");
    has(error("population { name: \"p\" size: 4 poisson { rate_hz: 1 } }\n"
              "current_input { target: \"p\" dc { amplitude_mV { constant: 1 } } }"),
        "not a spike source");
}

namespace {

double sigmoid_rate_hz(const StochasticParams& p, double v) {
    return p.rho_max_hz / (1.0 + std::exp(-p.beta_per_mV * (v - p.theta_mV)));
}

}  // namespace

TEST_CASE("stochastic current_input: a DC current fires at the rate of the same drive_mV (z-tests, alpha 0.001 each)") {
    // No noise, no input, V(0) = v_rest + drive + current: V stays at mu, so each
    // neuron's count over T is Poisson(rho(mu) T).  "C" gets drive 0 and a DC
    // current of 0.7 mV from 0; "D" drive_mV 0.7.  Their random streams differ (the
    // current's change redraws C's candidate), so the trains are compared by counts.
    // Then a step of the current at 500 ms: V relaxes from mu1 to mu2 with tau_m,
    // and the expected count in [500, 1000) ms is N times the integral of rho(V(t)),
    // computed here by Simpson's rule.
    const std::uint32_t n = 200;
    const double d = 0.7;
    StochasticParams p;
    p.rho_max_hz = 50.0;
    p.beta_per_mV = 2.0;
    StochasticParams pc = p, pd = p;
    pc.v_init_mV = d;
    pd.drive_mV = d;
    pd.v_init_mV = d;
    NetworkSpec s;
    s.run.duration_ms = 1000.0;
    s.run.seed = 31;
    s.populations = {stochastic("C", n, pc), stochastic("D", n, pd), stochastic("E", n, pc)};
    CurrentInputSpec dc, step;
    dc.name = "dc";
    dc.target = "C";
    dc.kind = DcCurrent{d};
    step.name = "step";
    step.target = "E";
    const double d2 = 1.7;
    step.kind = StepCurrent{{0.0, 500.0}, {d, d2}};
    s.current_inputs = {dc, step};
    s.record.spike_populations = {"C", "D", "E"};
    Simulation sim(s);
    sim.run();
    double count[3] = {0, 0, 0}, late = 0;
    for (const SpikeRecord& r : sim.sorted_spikes()) {
        ++count[r.population];
        if (r.population == 2 && r.t >= sim.time().round(500.0)) ++late;
    }
    const double lambda = n * sigmoid_rate_hz(p, d) * 1.0;  // per population over 1 s
    MESSAGE("counts C ", count[0], ", D ", count[1], "; expected ", lambda);
    CHECK(std::abs(count[0] - lambda) / std::sqrt(lambda) < kZ);
    CHECK(std::abs(count[1] - lambda) / std::sqrt(lambda) < kZ);
    // C and D: the difference of two independent Poisson counts of equal mean.
    CHECK(std::abs(count[0] - count[1]) / std::sqrt(count[0] + count[1]) < kZ);
    // E after the step: V(t) = mu2 + (mu1 - mu2) exp(-(t - 500)/tau_m).
    double integral = 0.0;
    const int m = 20000;  // Simpson on [0, 500] ms
    for (int k = 0; k <= m; ++k) {
        const double u = 500.0 * k / m;
        const double v = d2 + (d - d2) * std::exp(-u / p.tau_m_ms);
        integral += (k == 0 || k == m ? 1.0 : (k % 2 ? 4.0 : 2.0)) * sigmoid_rate_hz(p, v);
    }
    const double lambda_late = n * integral * (500.0 / m) / 3.0 / 1000.0;
    MESSAGE("E after the step: ", late, " spikes, expected ", lambda_late);
    CHECK(lambda_late > lambda * 0.5 * 1.3);  // the step does raise the rate
    CHECK(std::abs(late - lambda_late) / std::sqrt(lambda_late) < kZ);
    const auto& c = dynamic_cast<const StochasticPopulation&>(sim.population(0));
    CHECK(c.drive_mV(0) == d);  // the current moved the drive
}
