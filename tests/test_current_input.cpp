// Injected currents (current_input) and per-neuron parameters (per_neuron) on
// the LIF models: spike times against a piecewise closed form written here,
// OU samples against the process's law (alpha stated per check), thread
// counts, and the spec checks.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "file_helpers.hpp"
#include "helpers.hpp"
#include "io/spec_loader.hpp"
#include "network/current_input.hpp"
#include "network/models/lif_cond_exp.hpp"
#include "network/models/lif_delta.hpp"
#include "network/models/lif_exp.hpp"
#include "stats.hpp"

using namespace spikeem;
using namespace spikeem::test;

namespace {

// One LIF neuron without synaptic input, tau_m dV/dt = -(V - v_rest - I(t)),
// I piecewise constant (changes: tick -> total current from there), spikes
// at the first tick at or after each crossing, V held at v_reset for t_ref
// after a spike, V(0) = v_rest.  Integrated segment by segment in closed form.
struct LifLevels {
    double tau_m_ms, v_rest, v_th, v_reset;
    Tick t_ref;
};
std::vector<Tick> reference_spikes(const LifLevels& p, const std::map<Tick, double>& current, Tick end) {
    std::vector<Tick> out;
    double v = p.v_rest;
    Tick t = 0, clamp = 0;
    double i_now = 0.0;
    auto next_change = current.begin();
    while (t < end) {
        while (next_change != current.end() && next_change->first <= t) i_now = (next_change++)->second;
        const Tick b = next_change == current.end() ? end : std::min(end, next_change->first);
        if (clamp >= b) {  // refractory through the segment
            t = b;
            continue;
        }
        if (clamp > t) {
            t = clamp;
            v = p.v_reset;
        }
        const double mu = p.v_rest + i_now;
        if (mu > p.v_th) {
            const double tc_ms = ms(t) + p.tau_m_ms * std::log((mu - v) / (mu - p.v_th));
            const Tick s = static_cast<Tick>(std::ceil(tc_ms / kMsPerTick));
            if (s < b) {
                out.push_back(s);
                clamp = s + p.t_ref;
                t = s;
                v = p.v_reset;
                continue;
            }
        }
        v = mu + (v - mu) * std::exp(-(ms(b) - ms(t)) / p.tau_m_ms);
        t = b;
    }
    return out;
}

std::vector<Tick> spikes_of(const Simulation& sim, std::uint32_t neuron) {
    std::vector<Tick> out;
    for (const auto& sp : sim.sorted_spikes())
        if (sp.population == 0 && sp.neuron == neuron) out.push_back(sp.t);
    return out;
}

Tick largest_difference(const std::vector<Tick>& a, const std::vector<Tick>& b) {
    REQUIRE(a.size() == b.size());
    Tick worst = 0;
    for (std::size_t k = 0; k < a.size(); ++k) worst = std::max(worst, a[k] > b[k] ? a[k] - b[k] : b[k] - a[k]);
    return worst;
}

const char* const kModels[] = {"lif_delta", "lif_exp", "lif_cond_exp"};

// The model block with rest -70, threshold -55, reset -65, t_ref 2 ms (tau_m 10 ms).
std::string model_block(const std::string& model) {
    const std::string extra = model == "lif_cond_exp" ? " g_leak_nS: 10"
                              : model == "lif_exp"    ? " tau_e_ms: 5 tau_i_ms: 3"
                                                      : "";
    return model + " { tau_m_ms: 10 v_rest_mV: -70 v_th_mV: -55 v_reset_mV: -65 t_ref_ms: 2" + extra + " }";
}

}  // namespace

TEST_CASE("current_input: DC and steps give the spikes of the piecewise closed form, on every LIF model") {
    for (const std::string model : kModels) {
        CAPTURE(model);
        const std::string text = "run { duration_ms: 300 }\n"
                                 "population { name: \"n\" size: 2 " + model_block(model) + " }\n"
                                 "current_input { target: \"n\" steps { t_ms: [0, 40.0000004, 100, 160.5] "
                                 "amplitude_mV: [20, 0, 30, 12] } }\n"
                                 "current_input { target: \"n\" target_neurons { begin: 0 end: 1 } "
                                 "dc { amplitude_mV { constant: 4 } } start_ms: 20 stop_ms: 130.25 }\n"
                                 "record { spikes: \"n\" }\n";
        Simulation sim(io::load_spec_text(text).spec, 1);
        sim.run();
        const TimeBase tb;
        LifLevels p{10.0, -70.0, -55.0, -65.0, tb.round(2.0)};
        // Neuron 0: both inputs; neuron 1: the steps only.
        std::map<Tick, double> both = {{0, 20.0},
                                       {tb.round(20.0), 24.0},
                                       {tb.round(40.0000004), 4.0},
                                       {tb.round(100.0), 34.0},
                                       {tb.round(130.25), 30.0},
                                       {tb.round(160.5), 12.0}};
        std::map<Tick, double> steps = {{0, 20.0}, {tb.round(40.0000004), 0.0}, {tb.round(100.0), 30.0},
                                        {tb.round(160.5), 12.0}};
        const auto ref0 = reference_spikes(p, both, tb.round(300.0));
        const auto ref1 = reference_spikes(p, steps, tb.round(300.0));
        REQUIRE(ref0.size() >= 10);
        CHECK(ref0.size() != ref1.size());
        // lif_cond_exp's V is a Taylor polynomial within 1e-13 of the voltage scale per step:
        // a crossing can move by a tick at most.
        const Tick tolerance = model == "lif_cond_exp" ? 1 : 0;
        CHECK(largest_difference(spikes_of(sim, 0), ref0) <= tolerance);
        CHECK(largest_difference(spikes_of(sim, 1), ref1) <= tolerance);
    }
}

namespace {

// A population that only records the currents it is given (for CurrentInput alone).
class CurrentSink final : public Population {
public:
    explicit CurrentSink(std::uint32_t size) : Population("sink", size, 0, 0), total_(size, 0.0) {}
    const char* model() const override { return "sink"; }
    bool is_neuron() const override { return true; }
    void start(EngineHooks&) override {}
    void on_event(EngineHooks&, const Event&, std::uint32_t) override {}
    void add_current(EngineHooks&, std::uint32_t local, Tick, double delta_mV) override { total_[local] += delta_mV; }
    void save_state(StateWriter& w) const override { w.values(total_); }
    void load_state(StateReader& r) override { r.same_size(total_, "totals"); }
    std::vector<double> total_;
};

// Hooks that keep the events in a queue, popped by hand.
class QueueHooks final : public EngineHooks {
public:
    void schedule(const Event& e) override { q.push(e); }
    void schedule_own(std::uint32_t, Tick) override {}
    void emit_spike(std::uint32_t, std::uint32_t, Tick) override {}
    EventQueue q;
};

}  // namespace

TEST_CASE("current_input: OU samples follow the process's law (alpha = 0.001 per check)") {
    const std::uint32_t n = 4000;
    CurrentInputSpec spec;
    spec.name = "noise";
    spec.target = "sink";
    const OuCurrent ou{3.0, 2.0, 5.0, 0.5};  // mean, sigma, tau, dt
    spec.kind = ou;
    spec.start_ms = 1.0;
    spec.stop_ms = 101.0;
    const TimeBase tb;
    CurrentInput in(spec, 0, 0, n, 0, tb, 7);
    CurrentSink sink(n);
    QueueHooks hooks;
    in.start(hooks);
    // Samples 0, 1 and 10 of every neuron, and the number of changes per neuron.
    std::vector<std::vector<double>> x(3, std::vector<double>(n));
    std::vector<int> changes(n, 0);
    Tick last = 0;
    while (!hooks.q.empty()) {
        const Event e = hooks.q.top();
        hooks.q.pop();
        CHECK(e.t >= last);
        last = e.t;
        in.change(hooks, e, sink);
        ++changes[e.src];
        // The neuron receives the running value, and its sample s is held from start + s dt.
        CHECK(sink.total_[e.src] == doctest::Approx(in.value_mV(e.src)).epsilon(1e-12));
        const int slot = e.aux2 == 0 ? 0 : e.aux2 == 1 ? 1 : e.aux2 == 10 ? 2 : -1;
        if (slot >= 0) {
            CHECK(e.t == tb.round(1.0 + 0.5 * e.aux2));
            x[slot][e.src] = in.value_mV(e.src);
        }
    }
    // 200 samples in [1, 101), then the stop (value 0).
    CHECK(changes[0] == 201);
    CHECK(sink.total_[0] == doctest::Approx(0.0).epsilon(1e-12).scale(1.0));
    auto mean = [&](const std::vector<double>& v) {
        double s = 0.0;
        for (double a : v) s += a;
        return s / n;
    };
    auto cov = [&](const std::vector<double>& a, const std::vector<double>& b) {
        const double ma = mean(a), mb = mean(b);
        double s = 0.0;
        for (std::uint32_t i = 0; i < n; ++i) s += (a[i] - ma) * (b[i] - mb);
        return s / (n - 1);
    };
    const double sigma2 = ou.sigma_mV * ou.sigma_mV;
    for (int slot : {0, 1, 2}) {
        CAPTURE(slot);
        // Stationary from the first sample: mean and variance (the sample variance of
        // normal draws has std sigma^2 sqrt(2 / (n - 1))).
        CHECK(std::abs(mean(x[slot]) - ou.mean_mV) < kZ * ou.sigma_mV / std::sqrt(n));
        CHECK(std::abs(cov(x[slot], x[slot]) - sigma2) < kZ * sigma2 * std::sqrt(2.0 / (n - 1)));
    }
    // Correlation exp(-lag dt / tau) between samples 0 and 1, 0 and 10 (Fisher's z: std 1/sqrt(n - 3)).
    for (const auto& slot_lag : std::vector<std::pair<int, int>>{{1, 1}, {2, 10}}) {
        // Named, not a structured binding: CAPTURE and lambdas cannot capture one before clang 16 (sanitizer builds).
        const int slot = slot_lag.first, lag = slot_lag.second;
        CAPTURE(lag);
        const double r = cov(x[0], x[slot]) / std::sqrt(cov(x[0], x[0]) * cov(x[slot], x[slot]));
        const double rho = std::exp(-lag * ou.dt_ms / ou.tau_ms);
        CHECK(std::abs(std::atanh(r) - std::atanh(rho)) < kZ / std::sqrt(n - 3.0));
    }
}

TEST_CASE("per_neuron: each neuron fires as the closed form with its own drawn levels and tau_m, on every LIF model") {
    for (const std::string model : kModels) {
        CAPTURE(model);
        const std::string text =
            "run { duration_ms: 200 seed: 5 }\n"
            "population { name: \"n\" size: 300 " + model_block(model) +
            "\n per_neuron { parameter: \"v_th_mV\" value { uniform { low: -57 high: -52 } } }"
            "\n per_neuron { parameter: \"t_ref_ms\" value { normal { mean: 2 std: 0.5 min: 0 max: 4 } } }"
            "\n per_neuron { parameter: \"v_rest_mV\" value { uniform { low: -72 high: -68 } } }"
            "\n per_neuron { parameter: \"tau_m_ms\" value { uniform { low: 6 high: 25 } } } }\n"
            "current_input { target: \"n\" dc { amplitude_mV { uniform { low: 10 high: 30 } } } start_ms: 10 }\n"
            "record { spikes: \"n\" }\n";
        const auto spec = io::load_spec_text(text).spec;
        Simulation one(spec, 1), two(spec, 2, Partitioning::Exact);
        one.run();
        two.run();
        const auto& pop = one.population(0);
        const NeuronLevels* lv = nullptr;
        std::function<double(std::uint32_t)> tau_m;
        if (auto* p = dynamic_cast<const LifDeltaPopulation*>(&pop)) {
            lv = &p->levels();
            tau_m = [p](std::uint32_t i) { return p->tau_m_ms(i); };
        }
        if (auto* p = dynamic_cast<const LifExpPopulation*>(&pop)) {
            lv = &p->levels();
            tau_m = [p](std::uint32_t i) { return p->tau_m_ms(i); };
        }
        if (auto* p = dynamic_cast<const LifCondExpPopulation*>(&pop)) {
            lv = &p->levels();
            tau_m = [p](std::uint32_t i) { return p->tau_m_ms(i); };
        }
        REQUIRE(lv != nullptr);
        // The DC amplitudes as documented: one draw per neuron from its stream.
        const TimeBase tb;
        double th_sum = 0.0, tau_sum = 0.0;
        std::size_t firing = 0, silent = 0;
        Tick worst = 0;
        for (std::uint32_t i = 0; i < 300; ++i) {
            const double th = lv->th(i), t_ref_ms = ms(lv->t_ref(i));
            CHECK((th >= -57.0 && th < -52.0));
            CHECK((t_ref_ms >= 0.0 && t_ref_ms <= 4.0));
            th_sum += th;
            // After the run the rest level includes the DC amplitude: split it off.
            RandomStream rng(5, rng_domain::kCurrentInput, stable_hash("n.current_input[0]"), i);
            const double dc = rng.uniform(10.0, 30.0);
            const double rest = lv->rest(i) - dc;
            CHECK((rest >= -72.0 && rest < -68.0));
            const double tau = tau_m(i);
            CHECK((tau >= 6.0 && tau < 25.0));
            tau_sum += tau;
            const LifLevels p{tau, rest, th, -65.0, lv->t_ref(i)};
            const auto ref = reference_spikes(p, {{tb.round(10.0), dc}}, tb.round(200.0));
            (ref.empty() ? silent : firing) += 1;
            const auto got = spikes_of(one, i);
            REQUIRE(got.size() == ref.size());
            worst = std::max(worst, largest_difference(got, ref));
            CHECK(got == spikes_of(two, i));
        }
        MESSAGE(firing, " neurons fire, ", silent, " do not; largest difference ", worst, " ticks");
        CHECK(firing > 100);
        CHECK(silent > 10);
        CHECK(worst <= (model == "lif_cond_exp" ? 1 : 0));
        // Uniform on [-57, -52): mean -54.5, std 5/sqrt(12).
        CHECK(std::abs(th_sum / 300 + 54.5) < kZ * 5.0 / std::sqrt(12.0 * 300));
        CHECK(std::abs(tau_sum / 300 - 15.5) < kZ * 19.0 / std::sqrt(12.0 * 300));
    }
}

TEST_CASE("current_input and per_neuron: the spec checks name the field, the value and the rule") {
    const std::string head = "population { name: \"n\" size: 4 lif_delta {} }\n"
                             "population { name: \"s\" size: 4 stochastic {} }\n"
                             "population { name: \"p\" size: 4 poisson { rate_hz: 1 } }\n";
    auto error = [&](const std::string& body) {
        return error_of<io::SpecError>([&] { io::load_spec_text(head + body, "s"); });
    };
    auto has = [](const std::string& e, const std::string& part) {
        CAPTURE(e);
        CHECK(e.find(part) != std::string::npos);
    };
    has(error("current_input { target: \"p\" dc { amplitude_mV { constant: 1 } } }"),
        "not a spike source");
    has(error("current_input { target: \"n\" }"), "current_input[0]: no current: expected one of dc, steps, ou");
    has(error("current_input { target: \"n\" dc {} }"), "current_input[0].dc.amplitude_mV");
    has(error("current_input { target: \"n\" steps { t_ms: [0, 5, 5] amplitude_mV: [1, 2, 3] } }"),
        "steps.t_ms[2] = 5: must be > t_ms[1] = 5: strictly increasing (ms)");
    has(error("current_input { target: \"n\" steps { t_ms: [0, 5] amplitude_mV: [1] } }"),
        "amplitude_mV: has 1 values: expected one per t_ms, 2");
    has(error("current_input { target: \"n\" ou { sigma_mV: 1 tau_ms: 5 dt_ms: 0.0000001 } }"),
        "ou.dt_ms = 1e-07: must be >= the resolution");
    has(error("current_input { target: \"n\" ou { sigma_mV: -1 tau_ms: 5 dt_ms: 0.1 } }"), "ou.sigma_mV = -1");
    has(error("current_input { target: \"n\" dc { amplitude_mV { constant: 1 } } start_ms: 5 stop_ms: 2 }"),
        "stop_ms = 2: must be > start_ms = 5 (ms)");
    const std::string pop = "population { name: \"m\" size: 4 lif_delta {} ";
    has(error(pop + "per_neuron { parameter: \"c_pF\" value { constant: 5 } } }"),
        "per_neuron[0].parameter = \"c_pF\": must be one of v_rest_mV, v_th_mV, v_reset_mV, t_ref_ms, tau_m_ms");
    has(error("population { name: \"q\" size: 4 poisson { rate_hz: 1 } per_neuron { parameter: \"rate_hz\" value { constant: 5 } } }"),
        "the poisson model has no per-neuron parameters");
    has(error(pop + "per_neuron { parameter: \"v_th_mV\" value { normal { mean: -55 std: 1 } } } }"),
        "per_neuron[0].value: can draw -inf (mV): every neuron's v_th_mV must be finite; bound a normal with min and max");
    has(error(pop + "per_neuron { parameter: \"v_th_mV\" value { uniform { low: -75 high: -50 } } } }"),
        "per_neuron: at the end of the spread v_th_mV = -75, the model refuses: lif_delta.v_reset_mV = -70: must be < "
        "v_th_mV = -75 (mV)");
    has(error(pop + "per_neuron { parameter: \"v_th_mV\" value { uniform { low: -60 high: -50 } } }"
                    " per_neuron { parameter: \"v_reset_mV\" value { uniform { low: -70 high: -59 } } } }"),
        "per_neuron: at the ends of the spreads v_th_mV = -60 and v_reset_mV = -59, the model refuses: "
        "lif_delta.v_reset_mV = -59: must be < v_th_mV = -60 (mV)");
    has(error(pop + "per_neuron { parameter: \"t_ref_ms\" value { uniform { low: -1 high: 2 } } } }"),
        "per_neuron: at the end of the spread t_ref_ms = -1, the model refuses: lif_delta.t_ref_ms = -1: must be >= 0 (ms)");
    has(error(pop + "per_neuron { parameter: \"v_th_mV\" value { constant: -60 } }"
                    " per_neuron { parameter: \"v_th_mV\" value { constant: -50 } } }"),
        "per_neuron[1].parameter = \"v_th_mV\": is spread already");
    has(error("population { name: \"m\" size: 4 lif_delta { v_init_mV { constant: -58 } } "
              "per_neuron { parameter: \"v_th_mV\" value { uniform { low: -60 high: -50 } } } }"),
        "per_neuron: at the end of the spread v_th_mV = -60, the model refuses: lif_delta.v_init_mV: every initial value "
        "must be below v_th_mV = -60 (mV); it allows -58");
}

TEST_CASE("current_input: the shipped example runs, silent without the step and firing more for the larger one") {
    const auto loaded = io::load_spec_file(std::string(SPIKEEM_SOURCE_DIR) + "/examples/currents/currents.pbtxt");
    Simulation sim(loaded.spec, 1);
    sim.run();
    // Spikes per phase of the step protocol (0, 14, 22, 0 mV on top of 3 mV noise).
    std::vector<int> count(4, 0);
    for (const auto& sp : sim.sorted_spikes()) {
        const double t = ms(sp.t);
        ++count[t < 100 ? 0 : t < 300 ? 1 : t < 550 ? 2 : 3];
    }
    MESSAGE("spikes per phase: ", count[0], " ", count[1], " ", count[2], " ", count[3]);
    // Without the step the mean is 15 mV (5 noise std) below threshold: no spike in 200 neurons.
    CHECK(count[0] == 0);
    CHECK(count[3] == 0);
    CHECK(count[1] > 50);
    CHECK(count[2] > 3 * count[1]);
}
