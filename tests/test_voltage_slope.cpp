// The voltage-slope rule (Eq. 1, VoltageSlopeParams) on voltages known in
// closed form: an exactly linear V, a firing stochastic neuron whose V is
// rebuilt from its inputs and resets, and a LIF target; with forward, central
// and analytic slopes and the own PSP kept or excluded; and the rule switched
// off while a probe is pending.  Deterministic checks state their tolerance
// and why it is met by rounding alone.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "helpers.hpp"
#include "stochastic_reference.hpp"

using namespace spikeem;
using namespace spikeem::test;

// ================================================= 1. Eq. 1 on a linear V

namespace {

struct SlopeRun {
    double w_final;
    std::size_t spikes;  // presynaptic spikes
};

// A silent stochastic neuron whose V is exactly linear with slope s (mV/ms):
// v_init = v_rest + drive - s tau_m makes the transient vanish.  Presynaptic
// spikes every 100 ms = 50 tau_m (older PSPs have decayed by e^-50).
SlopeRun run_linear(SlopeEstimate est, bool exclude, double w0, double tau_syn, double s_slope, double eta,
                    double window, double delay) {
    const double tau = 2.0, v_rest = -1.0, drive = 0.5;
    StochasticParams p = silent(tau, v_rest, drive, s_slope, tau_syn, (v_rest + drive) - s_slope * tau);
    std::vector<double> pre;
    for (int k = 0; k < 20; ++k) pre.push_back(10.0 + 100.0 * k);
    NetworkSpec s;
    s.run.duration_ms = 2000.0;
    s.populations = {stochastic("post", 1, p), spike_times("pre", {pre})};
    ProjectionSpec pj = connect("pre", "post", AllToAll{}, w0, delay);
    pj.plasticity = unbounded(VoltageSlopeParams{eta, est, window, exclude});
    s.projections = {pj};
    s.record.spike_populations = {"post"};
    Simulation sim(s);
    sim.run();
    REQUIRE(sim.sorted_spikes().empty());
    return {sim.weights_now(0).at(0).w, pre.size()};
}

}  // namespace

TEST_CASE("Eq. 1 on an exactly linear V: every update is eta * slope (plus the own PSP when it is kept)") {
    // Reference per presynaptic spike k with weight w_k sent:
    //   forward:  eta s + [!exclude] eta psp(w_k, T) / T
    //   central:  eta s + [!exclude] eta psp(w_k, T) / (2T)
    //   analytic: eta s  (the drift at t- of V = mu - s tau is exactly s)
    // with psp the delta or exponential-current PSP; w_{k+1} = w_k + dW_k.
    // Tolerance 1e-9 relative: V is O(100 mV) at most, so each difference
    // quotient carries ~1e-14 mV / T of rounding.
    const double s_slope = 0.07, eta = 1.3, T = 3.0, tau = 2.0;
    for (double tau_syn : {0.0, 0.7}) {
        for (SlopeEstimate est : {SlopeEstimate::Forward, SlopeEstimate::Central, SlopeEstimate::Analytic}) {
            for (bool exclude : {true, false}) {
                for (double w0 : {0.0, 2.5}) {
                    CAPTURE(tau_syn);
                    CAPTURE(static_cast<int>(est));
                    CAPTURE(exclude);
                    CAPTURE(w0);
                    for (double slope : {s_slope, -s_slope}) {
                        CAPTURE(slope);
                        const SlopeRun r = run_linear(est, exclude, w0, tau_syn, slope, eta, T, 4.0);
                        double w = w0, scale = 0.0;
                        for (std::size_t k = 0; k < r.spikes; ++k) {
                            double dw = eta * slope;
                            if (!exclude && est != SlopeEstimate::Analytic)
                                dw += eta * psp(w, T, tau, tau_syn) / (est == SlopeEstimate::Central ? 2.0 * T : T);
                            w += dw;
                            scale += std::abs(dw);
                        }
                        CHECK(std::abs(r.w_final - w) <= 1e-9 * std::max(std::abs(w), scale));
                        if (exclude || est == SlopeEstimate::Analytic)
                            CHECK(std::abs(r.w_final - (w0 + r.spikes * eta * slope)) <= 1e-9 * scale);
                    }
                }
            }
        }
    }
}

// ================================= 2. Eq. 1 on a firing stochastic neuron

namespace {

// V of a noise-free stochastic neuron rebuilt from its inputs and its
// recorded spikes (resets), in event order: at one tick inputs come before
// resets (deliveries before the neuron's own candidate events).
// `inclusive`: include the events at exactly t.  `skip`: leave out input `skip`.
RefState rebuild(const StochasticParams& p, double v0, const std::vector<Input>& inputs,
                 const std::vector<Tick>& resets, Tick t, bool inclusive, std::size_t skip = SIZE_MAX) {
    struct Ev {
        Tick t;
        int kind;  // 0 input, 1 reset
        double w;
        std::size_t id;
    };
    std::vector<Ev> ev;
    for (std::size_t k = 0; k < inputs.size(); ++k)
        if (k != skip) ev.push_back({inputs[k].t, 0, inputs[k].w, k});
    for (Tick r : resets) ev.push_back({r, 1, 0.0, 0});
    std::stable_sort(ev.begin(), ev.end(), [](const Ev& a, const Ev& b) { return a.t != b.t ? a.t < b.t : a.kind < b.kind; });
    RefState st{v0, 0.0};
    Tick now = 0;
    for (const Ev& e : ev) {
        if (e.t > t || (e.t == t && !inclusive)) break;
        st = propagate(p, st, ms(now), ms(e.t - now));
        now = e.t;
        if (e.kind == 1)
            st.v = *p.v_reset_mV;
        else if (p.tau_syn_ms == 0.0)
            st.v += e.w;
        else
            st.i += e.w / p.tau_syn_ms;
    }
    return propagate(p, st, ms(now), ms(t - now));
}

}  // namespace

TEST_CASE("Eq. 1 on a firing stochastic neuron: V(t-) and V(t+T) follow the resets and the own PSP is what the resets left") {
    // A stochastic target that fires (60..100 Hz, reset to -1 mV, t_ref 2 ms)
    // under the plastic input itself (spikes 3.5..12 ms apart > T = 3 ms), so
    // resets fall inside many windows.  Reference, rebuilt from the inputs
    // (with the weights sent) and the recorded spikes:
    //   forward:  dW = eta (V(a+T) - [exclude] left_k(a+T) - V(a-)) / T,
    //   central:  dW = eta (V(a+T) - [exclude] left_k(a+T) - V(a-T)) / 2T,
    //   analytic: dW = eta (-(V(a-) - mu(a))/tau + I(a-)),
    // left_k = V rebuilt with all inputs minus V rebuilt without input k (0
    // once a reset follows a delta input; the remaining current for
    // exponential currents).  Final weights to 1e-9 relative.
    const double eta = 0.3, T = 3.0, delay = 3.5, w0 = 1.0;
    std::mt19937_64 gen(7);
    std::uniform_real_distribution<double> gap(3.5, 12.0);
    std::vector<double> pre;
    for (double t = 1.0; t < 480.0; t += std::round(gap(gen) * 1000.0) / 1000.0) pre.push_back(t);
    int windows_with_reset = 0;
    for (double tau_syn : {0.0, 2.0}) {
        for (SlopeEstimate est : {SlopeEstimate::Forward, SlopeEstimate::Central, SlopeEstimate::Analytic}) {
            for (bool exclude : {true, false}) {
                CAPTURE(tau_syn);
                CAPTURE(static_cast<int>(est));
                CAPTURE(exclude);
                StochasticParams p;
                p.tau_m_ms = 10.0;
                p.drive_mV = 1.5;
                p.drive_slope_mV_per_ms = 0.001;
                p.tau_syn_ms = tau_syn;
                p.rho_max_hz = 150.0;
                p.beta_per_mV = 3.0;
                p.v_reset_mV = -1.0;
                p.t_ref_ms = 2.0;
                p.v_init_mV = 0.0;
                NetworkSpec s;
                s.run.duration_ms = 500.0;
                s.run.seed = 31;
                s.populations = {stochastic("post", 1, p), spike_times("pre", {pre})};
                ProjectionSpec pj = connect("pre", "post", AllToAll{}, w0, delay);
                pj.plasticity = unbounded(VoltageSlopeParams{eta, est, T, exclude});
                s.projections = {pj};
                s.record.spike_populations = {"post"};
                Simulation sim(s);
                sim.run();
                const TimeBase& tb = sim.time();
                const std::vector<Tick> resets = spike_ticks(sim, 0, 0);
                REQUIRE(resets.size() > 20);
                const Tick Tt = tb.round(T);
                std::vector<Input> in;
                double w = w0, scale = 0.0;
                for (double t : pre) {
                    const Tick a = tb.round(t) + tb.round(delay);
                    in.push_back({a, w});
                    const std::size_t k = in.size() - 1;
                    const RefState before = rebuild(p, 0.0, in, resets, a, false);
                    double dw;
                    if (est == SlopeEstimate::Analytic) {
                        const double mu = p.v_rest_mV + p.drive_mV + p.drive_slope_mV_per_ms * ms(a);
                        dw = eta * (-(before.v - mu) / p.tau_m_ms + before.i);
                    } else {
                        double v_after = rebuild(p, 0.0, in, resets, a + Tt, true).v;
                        if (exclude) v_after = rebuild(p, 0.0, in, resets, a + Tt, true, k).v;
                        const double v_ref = est == SlopeEstimate::Forward
                                                 ? before.v
                                                 : rebuild(p, 0.0, in, resets, a - Tt, true).v;
                        dw = eta * (v_after - v_ref) / (est == SlopeEstimate::Forward ? T : 2.0 * T);
                        if (tau_syn == 0.0 && est == SlopeEstimate::Forward && exclude)
                            for (Tick r : resets) windows_with_reset += (r >= a && r <= a + Tt);
                    }
                    w += dw;
                    scale += std::abs(dw);
                }
                CHECK(std::abs(sim.weights_now(0).at(0).w - w) <= 1e-9 * scale);
            }
        }
    }
    CHECK(windows_with_reset > 10);
}

// ========================================== 3. Eq. 1 with a LIF target

TEST_CASE("Eq. 1 with a LIF target: updates follow the closed-form exponentially relaxing V") {
    // lif_delta, v_rest = -70 < v_th = -40 (no spikes: checked), V0 = -55.
    // Presynaptic spikes 7..20 ms apart (> 2T), T = 3 ms, delay 4 ms, so older
    // PSPs still matter.  Reference by superposition:
    //   V(t) = v_rest + (V0 - v_rest) e^{-t/tau} + sum_{a_j <= t} w_j e^{-(t - a_j)/tau}
    // with w_j the weight sent at arrival a_j;
    //   forward  dW = eta (V(a+T) [- own PSP] - V(a-)) / T,
    //   central  dW = eta (V(a+T) [- own PSP] - V(a-T)) / 2T,
    //   analytic dW = -eta (V(a-) - v_rest) / tau.
    // Every weight sample (1 ms apart) must match the reference weight at its
    // time to 1e-9 relative (rounding of O(100 mV) sums is ~1e-14).
    const double tau = 10.0, v_rest = -70.0, v0 = -55.0, eta = 0.2, T = 3.0, delay = 4.0;
    std::mt19937_64 gen(99);
    std::uniform_real_distribution<double> gap(7.0, 20.0);
    std::vector<double> pre;
    for (double t = 2.0; t < 400.0; t += std::round(gap(gen) * 1000.0) / 1000.0) pre.push_back(t);
    for (SlopeEstimate est : {SlopeEstimate::Forward, SlopeEstimate::Central, SlopeEstimate::Analytic}) {
        for (bool exclude : {true, false}) {
            CAPTURE(static_cast<int>(est));
            CAPTURE(exclude);
            NetworkSpec s;
            s.run.duration_ms = 420.0;
            s.populations = {lif("n", 1, LifDeltaParams{tau, v_rest, v_rest, -40.0, 2.0, v0}), spike_times("pre", {pre})};
            ProjectionSpec pj = connect("pre", "n", AllToAll{}, 1.5, delay);
            pj.plasticity = unbounded(VoltageSlopeParams{eta, est, T, exclude});
            s.projections = {pj};
            s.record.spike_populations = {"n"};
            s.record.weights = {WeightProbeSpec{"pre->n", {}, 1.0}};
            Simulation sim(s);
            sim.run();
            REQUIRE(sim.sorted_spikes().empty());

            const TimeBase& tb = sim.time();
            std::vector<Tick> a;
            for (double t : pre) a.push_back(tb.round(t) + tb.round(delay));
            std::vector<double> sent;
            // V at tick t from the arrivals j < upto (all those with a_j <= t when upto is large).
            auto V = [&](Tick t, std::size_t upto) {
                double v = v_rest + (v0 - v_rest) * std::exp(-ms(t) / tau);
                for (std::size_t j = 0; j < upto && j < sent.size(); ++j)
                    if (a[j] <= t) v += sent[j] * std::exp(-ms(t - a[j]) / tau);
                return v;
            };
            std::vector<std::pair<Tick, double>> w_after;  // (time an update applies, weight after it)
            double w = 1.5;
            const Tick Tt = tb.round(T);
            for (std::size_t k = 0; k < a.size(); ++k) {
                sent.push_back(w);
                const double v_minus = V(a[k], k);  // before the own PSP
                double dw;
                if (est == SlopeEstimate::Analytic) {
                    dw = -eta * (v_minus - v_rest) / tau;
                } else {
                    const double v_after = V(a[k] + Tt, exclude ? k : k + 1);
                    dw = est == SlopeEstimate::Forward ? eta * (v_after - v_minus) / T
                                                       : eta * (v_after - V(a[k] - Tt, k)) / (2.0 * T);
                }
                w += dw;
                w_after.push_back({est == SlopeEstimate::Analytic ? a[k] : a[k] + Tt, w});
            }
            REQUIRE(w_after.size() > 20);
            std::size_t checked = 0;
            for (const auto& sample : sim.weight_samples()) {
                double ref = 1.5;
                for (const auto& [t, wa] : w_after)
                    if (t <= sample.t) ref = wa;
                CHECK(std::abs(sample.w - ref) <= 1e-9 * std::max(1.0, std::abs(ref)));
                ++checked;
            }
            CHECK(checked == 420);
            CHECK(std::abs(sim.weights_now(0).at(0).w - w) <= 1e-9 * std::max(1.0, std::abs(w)));
        }
    }
}

// ================================== 4. the rule switched off with a probe pending

TEST_CASE("Central difference switched off while an earlier arrival waits for its probe keeps its V(t - T)") {
    // Turning the rule off drops the current arrival's stored V(t - T), not
    // the oldest ones (those of the arrival whose probe is pending).  V is
    // exactly linear with slope s, so the one recorded update is eta * s.
    const double tau = 2.0, s = 0.07, eta = 1.0;
    StochasticParams p;
    p.tau_m_ms = tau;
    p.drive_slope_mV_per_ms = s;
    p.rho_max_hz = 1e-9;
    p.v_init_mV = -s * tau;
    NetworkSpec spec;
    spec.run.duration_ms = 100.0;
    spec.populations = {PopulationSpec{"post", 1, p}, PopulationSpec{"pre", 1, SpikeTimesParams{{{10.0, 11.0}}}}};
    ProjectionSpec pj;
    pj.name = "pre->post";
    pj.source = "pre";
    pj.target = "post";
    pj.weight_mV = 0.0;
    pj.delay_ms = 4.0;
    PlasticitySpec ps;
    ps.rule = VoltageSlopeParams{eta, SlopeEstimate::Central, 3.0, true};
    ps.w_min_mV = -1e9;
    ps.w_max_mV = 1e9;
    pj.plasticity = ps;
    spec.projections = {pj};
    Simulation sim(spec);
    sim.run_until(sim.time().round(14.5));  // arrival at 14 ms recorded, its probe at 17 ms pending
    sim.set_plasticity_gain(0, 0.0);        // the arrival at 15 ms is not learned from
    sim.run();
    CHECK(sim.weights_now(0)[0].w == doctest::Approx(eta * s).epsilon(1e-9));
}
