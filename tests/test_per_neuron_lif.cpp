// Time constants (and the conductance model's reversal potentials and leak)
// drawn per neuron on the LIF models: neuron i of a population with spread
// parameters must fire exactly as a one-neuron population given neuron i's
// values as constants, with the same synaptic input and the same injected
// current.  The one-neuron populations run the shared-parameter code, which
// the other model tests check against closed forms and fine references; here
// the spread path is checked against it, neuron by neuron, to the tick.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <string>
#include <vector>

#include "file_helpers.hpp"
#include "helpers.hpp"
#include "io/spec_loader.hpp"
#include "network/models/per_neuron.hpp"

using namespace spikeem;
using namespace spikeem::test;

namespace {

struct Case {
    std::string model;
    std::string fixed;                 // the model's other parameters
    std::vector<std::string> spreads;  // names, each drawn uniform on its range below
    std::vector<std::pair<double, double>> ranges;
    double w_exc, w_inh;               // synaptic weights in the model's unit
};

std::vector<Tick> spikes_of(const Simulation& sim, std::uint32_t population, std::uint32_t neuron) {
    std::vector<Tick> out;
    for (const auto& sp : sim.sorted_spikes())
        if (sp.population == population && sp.neuron == neuron) out.push_back(sp.t);
    return out;
}

void check_case(const Case& c) {
    CAPTURE(c.model);
    constexpr std::uint32_t kN = 16;
    const std::string common = "run { duration_ms: 400 seed: 11 }\n"
                               "population { name: \"ex\" size: 40 poisson { rate_hz: 25 } }\n"
                               "population { name: \"in\" size: 10 poisson { rate_hz: 25 } }\n";
    auto drive = [&](const std::string& target) {
        return fmt::format(
            "projection {{ source: \"ex\" target: \"{0}\" all_to_all {{}} weight_mV {{ constant: {1} }} "
            "delay_ms {{ constant: 1 }} }}\n"
            "projection {{ source: \"in\" target: \"{0}\" all_to_all {{}} weight_mV {{ constant: {2} }} "
            "delay_ms {{ constant: 1.5 }} }}\n"
            "current_input {{ target: \"{0}\" dc {{ amplitude_mV {{ constant: 14.5 }} }} start_ms: 50 }}\n",
            target, c.w_exc, c.w_inh);
    };
    std::string spread_pop = fmt::format("population {{ name: \"v\" size: {} {} {{ {} }}", kN, c.model, c.fixed);
    for (std::size_t k = 0; k < c.spreads.size(); ++k)
        spread_pop += fmt::format(" per_neuron {{ parameter: \"{}\" value {{ uniform {{ low: {} high: {} }} }} }}",
                                  c.spreads[k], c.ranges[k].first, c.ranges[k].second);
    spread_pop += " }\n";
    // The spread population first (population 2), then one population per neuron.  The
    // current takes the rest level to -55.5 mV, above some thresholds (lif_delta: -57 to
    // -53 mV), so that neurons also cross on their own, between inputs.
    std::string text = common + spread_pop + drive("v");
    std::string record = "record { spikes: \"v\"";
    const auto spread_spec = io::load_spec_text(text).spec;
    const PopulationSpec& ps = spread_spec.populations[2];
    std::vector<std::vector<double>> drawn;
    for (std::size_t k = 0; k < c.spreads.size(); ++k) {
        drawn.push_back(per_neuron_values(ps, c.spreads[k], 0.0, spread_spec.run.seed));
        for (double x : drawn.back()) REQUIRE((x >= c.ranges[k].first && x < c.ranges[k].second));
    }
    for (std::uint32_t i = 0; i < kN; ++i) {
        std::string values = c.fixed;
        for (std::size_t k = 0; k < c.spreads.size(); ++k) values += fmt::format(" {}: {}", c.spreads[k], drawn[k][i]);
        text += fmt::format("population {{ name: \"r{}\" size: 1 {} {{ {} }} }}\n", i, c.model, values) +
                drive(fmt::format("r{}", i));
        record += fmt::format(" spikes: \"r{}\"", i);
    }
    text += record + " }\n";
    const auto spec = io::load_spec_text(text).spec;
    Simulation one(spec, 1), two(spec, 2, Partitioning::Exact);
    one.run();
    two.run();
    std::size_t spikes = 0, silent = 0;
    for (std::uint32_t i = 0; i < kN; ++i) {
        CAPTURE(i);
        const auto got = spikes_of(one, 2, i);
        CHECK(got == spikes_of(one, 3 + i, 0));
        CHECK(got == spikes_of(two, 2, i));
        spikes += got.size();
        silent += got.empty();
    }
    MESSAGE(c.model, ": ", spikes, " spikes of ", kN, " neurons (", silent, " silent), each as its one-neuron twin");
    // The comparison means something only if the neurons fire, and differently.
    CHECK(spikes > 10 * kN);
    CHECK(silent == 0);
    CHECK(spikes_of(one, 2, 0) != spikes_of(one, 2, 1));
}

}  // namespace

TEST_CASE("per_neuron lif_delta: a drawn tau_m fires as the one-neuron population with that tau_m") {
    check_case({"lif_delta", "v_rest_mV: -70 v_reset_mV: -65 t_ref_ms: 2", {"tau_m_ms", "v_th_mV"},
                {{4, 30}, {-57, -53}}, 1.2, -2.0});
}

TEST_CASE("per_neuron lif_exp: drawn tau_m, tau_e and tau_i fire as the one-neuron population with those values") {
    check_case({"lif_exp", "v_rest_mV: -70 v_th_mV: -55 v_reset_mV: -65 t_ref_ms: 2",
                {"tau_m_ms", "tau_e_ms", "tau_i_ms"}, {{12, 30}, {2, 8}, {3, 10}}, 3.0, -2.0});
}

TEST_CASE("per_neuron lif_cond_exp: drawn time constants, leak and reversal potentials fire as the one-neuron twin") {
    check_case({"lif_cond_exp", "v_rest_mV: -70 v_th_mV: -55 v_reset_mV: -65 t_ref_ms: 2",
                {"tau_m_ms", "g_leak_nS", "tau_e_ms", "tau_i_ms", "e_e_mV", "e_i_mV"},
                {{8, 30}, {8, 15}, {2, 8}, {5, 15}, {-5, 5}, {-85, -75}}, 1.0, -2.0});
}

TEST_CASE("per_neuron time constants: the loader keeps lif_exp's tau_e and tau_i apart from tau_m") {
    auto error = [](const std::string& body) {
        return error_of<io::SpecError>([&] { io::load_spec_text(body, "s"); });
    };
    // tau_e_ms is not written: its default, 5 ms, is what the range must stay clear of.
    const std::string e = error(
        "population { name: \"m\" size: 4 lif_exp { tau_m_ms: 20 } "
        "per_neuron { parameter: \"tau_m_ms\" value { uniform { low: 4 high: 30 } } } }");
    CHECK(e.find("per_neuron: tau_e_ms ranges over [5, 5] and tau_m_ms over [4, 30] (ms): every neuron's tau_e_ms "
                 "must differ from its tau_m_ms by at least 0.1 %") != std::string::npos);
    CAPTURE(e);
    // Neither written: a tau_e_ms range over the default tau_m_ms (20 ms).
    const std::string e2 = error(
        "population { name: \"m\" size: 4 lif_exp {} "
        "per_neuron { parameter: \"tau_e_ms\" value { uniform { low: 2 high: 25 } } } }");
    CHECK(e2.find("tau_e_ms ranges over [2, 25] and tau_m_ms over [20, 20] (ms)") != std::string::npos);
    CAPTURE(e2);
    const std::string f = error(
        "population { name: \"m\" size: 4 lif_delta {} "
        "per_neuron { parameter: \"tau_m_ms\" value { uniform { low: -1 high: 30 } } } }");
    CHECK(f.find("at the end of the spread tau_m_ms = -1, the model refuses: lif_delta.tau_m_ms = -1: must be > 0 (ms)") !=
          std::string::npos);
    CAPTURE(f);
    const std::string g = error(
        "population { name: \"m\" size: 4 lif_cond_exp {} "
        "per_neuron { parameter: \"c_pF\" value { constant: 3 } } }");
    CHECK(g.find("must be one of v_rest_mV, v_th_mV, v_reset_mV, t_ref_ms, tau_m_ms, g_leak_nS, tau_e_ms, tau_i_ms, "
                 "e_e_mV, e_i_mV") != std::string::npos);
    CAPTURE(g);
}
