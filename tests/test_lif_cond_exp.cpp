// LIF with exponential conductances (lif_cond_exp): closed forms (free relaxation),
// one input against a quadrature of the linear ODE, driven neurons against RK4 at
// 1e-4 ms (V traces and spike times at 1 ps resolution), a small recurrent network
// spike for spike against a brute-force RK4 integration, the COBA benchmark on 1
// and 2 threads, and spec loading.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "helpers.hpp"
#include "io/spec_loader.hpp"
#include "network/models/lif_cond_exp.hpp"

using namespace spikeem;
using namespace spikeem::test;

namespace {

PopulationSpec cond(const std::string& name, std::uint32_t size, LifCondExpParams p) {
    return PopulationSpec{name, size, p};
}

// Brette et al.'s COBA neuron with a chosen initial V and threshold.
LifCondExpParams coba_neuron(Distribution v_init, double v_th = -50.0) {
    LifCondExpParams p;
    p.v_init_mV = std::move(v_init);
    p.v_th_mV = v_th;
    return p;
}

// The membrane's right-hand side, dV/dt (mV/ms), conductances in units of g_leak.
double dvdt(const LifCondExpParams& p, double v, double ge, double gi) {
    return (-(v - p.v_rest_mV) - ge * (v - p.e_e_mV) - gi * (v - p.e_i_mV)) / p.tau_m_ms;
}

// One RK4 step of (V, g_e, g_i) over h ms; V frozen when `held` (refractory).
struct Y {
    double v, ge, gi;
};
Y rk4(const LifCondExpParams& p, const Y& y, double h, bool held) {
    auto d = [&](const Y& s) {
        return Y{held ? 0.0 : dvdt(p, s.v, s.ge, s.gi), -s.ge / p.tau_e_ms, -s.gi / p.tau_i_ms};
    };
    auto ax = [](const Y& s, double a, const Y& k) { return Y{s.v + a * k.v, s.ge + a * k.ge, s.gi + a * k.gi}; };
    const Y k1 = d(y), k2 = d(ax(y, h / 2, k1)), k3 = d(ax(y, h / 2, k2)), k4 = d(ax(y, h, k3));
    return Y{y.v + h / 6 * (k1.v + 2 * k2.v + 2 * k3.v + k4.v), y.ge + h / 6 * (k1.ge + 2 * k2.ge + 2 * k3.ge + k4.ge),
             y.gi + h / 6 * (k1.gi + 2 * k2.gi + 2 * k3.gi + k4.gi)};
}

// Single neurons (no recurrence) driven by given input trains, integrated by RK4 in
// steps of at most max_step ticks, split at inputs, samples and the end of
// refractoriness.  A crossing inside a step is bisected (RK4 from the step start) to
// 1e-15 ms; the spike is at the next tick (as spikeem rounds), V held at v_reset for
// t_ref from there while the conductances go on.  Inputs at a tick act before the
// sample at that tick.
struct DrivenReference {
    std::vector<std::vector<double>> v;           // per neuron, at every sample
    std::vector<std::vector<double>> crossing_ms;  // per neuron, the exact crossing times
    std::vector<std::vector<Tick>> spike_ticks;    // per neuron, rounded up
};
DrivenReference driven_reference(const LifCondExpParams& p, const std::vector<double>& v0,
                                 const std::vector<std::map<Tick, std::pair<double, double>>>& inputs,
                                 double ms_per_tick, Tick sample_every, Tick end, Tick max_step) {
    DrivenReference out;
    const Tick t_ref = std::llround(p.t_ref_ms / ms_per_tick);
    for (std::size_t k = 0; k < v0.size(); ++k) {
        std::vector<double> vs, cross;
        std::vector<Tick> ticks;
        Y y{v0[k], 0.0, 0.0};
        Tick clamp = -1;
        auto it = inputs[k].begin();
        for (Tick t = 0;;) {
            for (; it != inputs[k].end() && it->first == t; ++it) {
                y.ge += it->second.first;
                y.gi += it->second.second;
            }
            if (t >= end) break;  // samples in [0, end)
            if (t % sample_every == 0) vs.push_back(t < clamp ? p.v_reset_mV : y.v);
            Tick next = std::min({end, t + max_step, (t / sample_every + 1) * sample_every});
            if (it != inputs[k].end()) next = std::min(next, it->first);
            const bool held = t < clamp;
            if (held) next = std::min(next, clamp);
            const double h = static_cast<double>(next - t) * ms_per_tick;
            Y y1 = rk4(p, y, h, held);
            if (!held && y1.v >= p.v_th_mV) {
                double lo = 0.0, hi = h;
                while (hi - lo > 1e-15) {
                    const double mid = 0.5 * (lo + hi);
                    (rk4(p, y, mid, false).v >= p.v_th_mV ? hi : lo) = mid;
                }
                const Tick s = t + std::max<Tick>(1, static_cast<Tick>(std::ceil(hi / ms_per_tick)));
                cross.push_back(static_cast<double>(t) * ms_per_tick + hi);
                ticks.push_back(s);
                y1 = rk4(p, y, static_cast<double>(s - t) * ms_per_tick, false);
                y1.v = p.v_reset_mV;
                clamp = s + t_ref;
                next = s;
            }
            y = y1;
            t = next;
        }
        out.v.push_back(std::move(vs));
        out.crossing_ms.push_back(std::move(cross));
        out.spike_ticks.push_back(std::move(ticks));
    }
    return out;
}

}  // namespace

TEST_CASE("lif_cond_exp without input relaxes to v_rest exactly as an exponential") {
    NetworkSpec s;
    s.run.duration_ms = 200.0;
    s.populations = {cond("lo", 1, coba_neuron(-75.0)), cond("hi", 1, coba_neuron(-51.0)),
                     cond("fires", 1, [] {  // v_rest above threshold: fires on its own, period in closed form
                         LifCondExpParams p = coba_neuron(-60.0);
                         p.v_rest_mV = -45.0;
                         return p;
                     }()),
                     cond("no_ref", 1, [] {  // the same without refractoriness: restarts at the spike tick
                         LifCondExpParams p = coba_neuron(-60.0);
                         p.v_rest_mV = -45.0;
                         p.t_ref_ms = 0.0;
                         return p;
                     }())};
    s.record.voltages = {VoltageProbeSpec{"lo", {}, 0.5}, VoltageProbeSpec{"hi", {}, 0.5}};
    s.record.spike_populations = {"fires", "no_ref"};
    Simulation sim(s);
    sim.run();
    double worst = 0.0;
    for (const VoltageSample& v : sim.voltages()) {
        const double v0 = v.population == 0 ? -75.0 : -51.0;
        const double expect = -60.0 + (v0 + 60.0) * std::exp(-ms(v.t) / 20.0);
        worst = std::max(worst, std::abs(v.v_mV - expect));
    }
    MESSAGE("largest |V - closed form| without input: ", worst, " mV");
    CHECK(sim.voltages().size() == 2 * 400);  // [0, 200) ms every 0.5 ms
    CHECK(worst < 1e-10);
    // From v_reset = -60 towards -45: -50 is reached after tau_m ln((-45 + 60)/(-45 + 50)) = 20 ln 3,
    // the first time from v_init = v_reset at t = 0, then every t_ref + 20 ln 3 ms.
    const std::vector<Tick> got = spike_ticks(sim, 2, 0);
    REQUIRE(got.size() >= 5);
    for (std::size_t k = 0; k < got.size(); ++k) {
        const double exact = 20.0 * std::log(3.0) + static_cast<double>(k) * (5.0 + 20.0 * std::log(3.0));
        CAPTURE(k);
        // The spike is the first tick at or after the crossing; each period starts at a tick.
        const Tick expect = static_cast<Tick>(std::ceil((20.0 * std::log(3.0)) * 1e6)) * static_cast<Tick>(k + 1) +
                            static_cast<Tick>(k) * 5000000;
        CHECK(std::abs(got[k] - expect) <= 1);
        CHECK(std::abs(ms(got[k]) - exact) < 1e-5 * static_cast<double>(k + 1));
    }
    const std::vector<Tick> free_run = spike_ticks(sim, 3, 0);
    REQUIRE(free_run.size() >= 5);
    const Tick period = static_cast<Tick>(std::ceil((20.0 * std::log(3.0)) * 1e6));
    for (std::size_t k = 0; k < free_run.size(); ++k) CHECK(std::abs(free_run[k] - period * static_cast<Tick>(k + 1)) <= 1);
}

TEST_CASE("lif_cond_exp after one input matches a quadrature of the linear ODE to 1e-10 mV") {
    // V0 = -65 mV relaxes towards v_rest = -60 until one input at 10.1 ms: 6 nS onto g_e
    // (neuron 0) or 67 nS onto g_i (neuron 1).  After it, with g(s) = g0 e^{-s/tau},
    //   V(s) = e^{-A(s)} (V_in + int_0^s b(u) e^{A(u)} du),
    //   A(s) = s/tau_m + g0 tau/tau_m (1 - e^{-s/tau}),  b(u) = (v_rest + g(u) E)/tau_m,
    // the integral by 5-point Gauss-Legendre on 0.025 ms pieces.
    NetworkSpec s;
    s.run.duration_ms = 100.0;
    s.populations = {cond("n", 2, coba_neuron(-65.0)), spike_times("src", {{10.0}, {10.0}})};
    s.projections = {connect("src", "n", ExplicitPairs{{{0, 0, 6.0, std::nullopt}, {1, 1, -67.0, std::nullopt}}}, 0.0,
                             0.1)};
    s.record.voltages = {VoltageProbeSpec{"n", {}, 0.5}};
    s.record.spike_populations = {"n"};
    Simulation sim(s);
    sim.run();
    REQUIRE(sim.sorted_spikes().empty());  // v_th = -50 is out of reach
    const double t_in = 10.1, v_in = -60.0 - 5.0 * std::exp(-t_in / 20.0);
    const double gl[5] = {0.0, -0.5384693101056831, 0.5384693101056831, -0.9061798459386640, 0.9061798459386640};
    const double gw[5] = {0.5688888888888889, 0.4786286704993665, 0.4786286704993665, 0.2369268850561891,
                          0.2369268850561891};
    double worst[2] = {0.0, 0.0};
    for (int k = 0; k < 2; ++k) {
        const double g0 = k == 0 ? 0.6 : 6.7, tau = k == 0 ? 5.0 : 10.0, rev = k == 0 ? 0.0 : -80.0;
        auto a_of = [&](double u) { return u / 20.0 + g0 * tau / 20.0 * (1.0 - std::exp(-u / tau)); };
        auto f = [&](double u) { return (-60.0 + g0 * std::exp(-u / tau) * rev) / 20.0 * std::exp(a_of(u)); };
        double integral = 0.0, u = 0.0;
        for (const VoltageSample& v : sim.voltages()) {
            if (v.neuron != static_cast<std::uint32_t>(k)) continue;
            const double t = ms(v.t);
            double expect;
            if (t < t_in) {
                expect = -60.0 - 5.0 * std::exp(-t / 20.0);
            } else {
                const double target = t - t_in;
                while (u < target - 1e-12) {
                    const double b = std::min(u + 0.025, target), half = 0.5 * (b - u), mid = 0.5 * (b + u);
                    for (int q = 0; q < 5; ++q) integral += half * gw[q] * f(mid + half * gl[q]);
                    u = b;
                }
                expect = std::exp(-a_of(target)) * (v_in + integral);
            }
            worst[k] = std::max(worst[k], std::abs(v.v_mV - expect));
        }
    }
    MESSAGE("largest |V - quadrature|: ", worst[0], " mV (excitatory input), ", worst[1], " mV (inhibitory)");
    CHECK(worst[0] < 1e-10);
    CHECK(worst[1] < 1e-10);
    // The conductances are exact exponentials.
    const auto& pop = dynamic_cast<const LifCondExpPopulation&>(sim.population(0));
    const Tick end = sim.time().round(100.0);
    CHECK(pop.g_e_nS(0, end) == doctest::Approx(6.0 * std::exp(-(100.0 - t_in) / 5.0)).epsilon(1e-12));
    CHECK(pop.g_i_nS(1, end) == doctest::Approx(67.0 * std::exp(-(100.0 - t_in) / 10.0)).epsilon(1e-12));
}

TEST_CASE("lif_cond_exp driven neurons match RK4 at 1e-4 ms: V traces and spike times at 1 ps") {
    // Four unconnected neurons with Brette's COBA parameters, each driven by its own
    // Poisson-like trains of excitatory (6 nS) and inhibitory (67 nS) inputs at COBA-like
    // rates, drawn here on a 1e-4 ms grid (the reference's step), delay 0.1 ms.  Time
    // resolution 1 ps, so that spike times are compared to 1e-9 ms.
    const std::uint32_t n = 4;
    const double duration = 200.0, delay = 0.1;
    LifCondExpParams p = coba_neuron(UniformDist{-60.0, -50.0});
    std::mt19937_64 rng(11);
    std::vector<std::vector<double>> exc(n), inh(n);
    for (std::uint32_t k = 0; k < n; ++k) {
        const double rate_e = 1.2 + 0.4 * k, rate_i = 0.25;  // per ms
        for (auto [train, rate] : {std::pair{&exc[k], rate_e}, std::pair{&inh[k], rate_i}}) {
            std::exponential_distribution<double> gap(rate);
            for (double t = gap(rng); t < duration - 1.0; t += gap(rng)) train->push_back(std::round(t * 1e4) / 1e4);
        }
    }
    NetworkSpec s;
    s.run.duration_ms = duration;
    s.run.seed = 5;
    s.run.time_digits = 9;
    s.populations = {cond("n", n, p), spike_times("exc", exc), spike_times("inh", inh)};
    s.projections = {connect("exc", "n", OneToOne{}, 6.0, delay), connect("inh", "n", OneToOne{}, -67.0, delay)};
    s.record.voltages = {VoltageProbeSpec{"n", {}, 0.1}};
    s.record.spike_populations = {"n"};
    Simulation sim(s);
    sim.run();

    const double ms_per_tick = 1e-9;
    const Tick per_ms = 1000000000;
    std::vector<std::map<Tick, std::pair<double, double>>> inputs(n);
    for (std::uint32_t k = 0; k < n; ++k) {
        for (double t : exc[k]) inputs[k][std::llround((t + delay) * 1e4) * (per_ms / 10000)].first += 0.6;
        for (double t : inh[k]) inputs[k][std::llround((t + delay) * 1e4) * (per_ms / 10000)].second += 6.7;
    }
    std::vector<double> v0(n);
    std::vector<std::vector<const VoltageSample*>> samples(n);
    for (const VoltageSample& v : sim.voltages()) samples[v.neuron].push_back(&v);
    for (std::uint32_t k = 0; k < n; ++k) v0[k] = samples[k].front()->v_mV;
    const DrivenReference ref =
        driven_reference(p, v0, inputs, ms_per_tick, per_ms / 10, static_cast<Tick>(duration) * per_ms, per_ms / 10000);

    double worst_v = 0.0, worst_t = 0.0;
    std::size_t spikes = 0;
    for (std::uint32_t k = 0; k < n; ++k) {
        CAPTURE(k);
        REQUIRE(samples[k].size() == ref.v[k].size());
        for (std::size_t j = 0; j < ref.v[k].size(); ++j)
            worst_v = std::max(worst_v, std::abs(samples[k][j]->v_mV - ref.v[k][j]));
        const std::vector<Tick> got = spike_ticks(sim, 0, k);
        REQUIRE(got.size() == ref.spike_ticks[k].size());
        for (std::size_t j = 0; j < got.size(); ++j) {
            // spikeem's tick is the first at or after its crossing: compare with the exact time.
            worst_t = std::max(worst_t, std::abs(static_cast<double>(got[j]) * ms_per_tick - ref.crossing_ms[k][j]));
            CHECK(std::abs(got[j] - ref.spike_ticks[k][j]) <= 1);
        }
        spikes += got.size();
    }
    MESSAGE(spikes, " spikes; largest |V - V_rk4| ", worst_v, " mV over ", n * ref.v[0].size(),
            " samples; largest |spike time - RK4 crossing| ", worst_t, " ms (1 tick = 1e-9 ms)");
    CHECK(spikes >= 20);
    CHECK(worst_v < 1e-10);
    CHECK(worst_t < 3e-9);
}

TEST_CASE("lif_cond_exp network spikes match a brute-force RK4 integration spike for spike") {
    // 40 COBA neurons (32 E, 8 I), random explicit connections (p = 0.15, 6 nS and
    // -67 nS), a Poisson drive (6 nS each, 40 sources at 600 Hz onto one neuron each),
    // delay 0.5 ms, 200 ms at 1 ns.  The reference integrates every neuron with RK4 in
    // steps of at most 1e-3 ms, split at arrivals, bisects crossings to 1e-12 ms and
    // rounds them up to the tick, holds V for t_ref while the conductances go on.  The
    // network is chaotic, so it is short: spikes must match one to one within 2 ticks.
    const std::uint32_t ne = 32, ni = 8, n = ne + ni, nd = 40;
    const double delay = 0.5, w_e = 6.0, w_i = -67.0, w_d = 6.0;
    const LifCondExpParams p = coba_neuron(UniformDist{-60.0, -50.0});
    NetworkSpec s;
    s.run.duration_ms = 200.0;
    s.run.seed = 3;
    s.populations = {cond("P", n, p), poisson("drive", nd, 600.0)};
    const auto [from_e, from_i] = random_ei_pairs(n, ne, 0.15, 42);
    ProjectionSpec pe = connect("P", "P", from_e, w_e, delay), pi = connect("P", "P", from_i, w_i, delay);
    pe.name = std::string("from E");
    pi.name = std::string("from I");
    s.projections = {pe, pi, connect("drive", "P", OneToOne{}, w_d, delay)};
    s.record.spike_populations = {"P", "drive"};
    s.record.voltages = {VoltageProbeSpec{"P", {}, 1000.0}};  // one sample, at t = 0: the initial V
    Simulation sim(s);
    sim.run();

    const Tick tick_delay = 500000, t_ref = 5000000, end = 200000000, max_step = 1000;
    std::vector<std::vector<std::pair<std::uint32_t, double>>> out(n);
    for (const auto& pr : from_e.pairs) out[pr.pre].push_back({pr.post, w_e / 10.0});
    for (const auto& pr : from_i.pairs) out[pr.pre].push_back({pr.post, w_i / 10.0});
    std::map<Tick, std::vector<std::pair<std::uint32_t, double>>> arrivals;
    for (const auto& sp : sim.sorted_spikes())
        if (sp.population == 1) arrivals[sp.t + tick_delay].push_back({sp.neuron, w_d / 10.0});
    std::vector<Y> st(n);
    std::vector<Tick> clamp(n, -1);
    REQUIRE(sim.voltages().size() == n);
    for (std::uint32_t k = 0; k < n; ++k) st[k] = Y{sim.voltages()[k].v_mV, 0.0, 0.0};
    std::vector<std::pair<Tick, std::uint32_t>> ref;
    for (Tick t = 0; t < end;) {
        if (auto it = arrivals.find(t); it != arrivals.end()) {
            for (auto [post, w] : it->second) (w > 0 ? st[post].ge : st[post].gi) += std::abs(w);
            arrivals.erase(it);
        }
        Tick next = std::min(t + max_step, end);
        if (!arrivals.empty()) next = std::min(next, arrivals.begin()->first);
        for (std::uint32_t k = 0; k < n; ++k) {
            Y& y = st[k];
            Tick at = t;
            if (clamp[k] > at) {  // refractory: V held, the conductances move
                const Tick until = std::min(clamp[k], next);
                y = rk4(p, y, (until - at) * 1e-6, true);
                at = until;
            }
            if (at == next) continue;
            const Y after = rk4(p, y, (next - at) * 1e-6, false);
            if (after.v < p.v_th_mV) {
                y = after;
                continue;
            }
            double lo = 0.0, hi = (next - at) * 1e-6;
            while (hi - lo > 1e-12) {
                const double mid = 0.5 * (lo + hi);
                (rk4(p, y, mid, false).v >= p.v_th_mV ? hi : lo) = mid;
            }
            const Tick spike_at = at + static_cast<Tick>(std::ceil(hi * 1e6));
            ref.push_back({spike_at, k});
            for (auto [post, w] : out[k]) arrivals[spike_at + tick_delay].push_back({post, w});
            y = rk4(p, y, (spike_at - at) * 1e-6, false);
            y.v = p.v_reset_mV;
            clamp[k] = spike_at + t_ref;
            y = rk4(p, y, (next - spike_at) * 1e-6, true);  // t_ref > max_step: still refractory at next
        }
        t = next;
    }
    std::sort(ref.begin(), ref.end());
    CHECK(largest_spike_difference(sim, ref) <= 2);
}

TEST_CASE("lif_cond_exp COBA gives identical spikes and voltages on 1 and 2 threads") {
    NetworkSpec spec = io::load_spec_file(std::string(SPIKEEM_SOURCE_DIR) + "/examples/benchmarks/coba.pbtxt").spec;
    spec.run.duration_ms = 300.0;
    const auto [one, p1] = spike_and_voltage_bits(spec, 1);
    const auto [two, p2] = spike_and_voltage_bits(spec, 2);
    CHECK(p2 == 2);
    CHECK(one.size() > 3 * 10000);
    CHECK(one == two);
}

TEST_CASE("lif_cond_exp specs: parameters load, defaults are Brette's COBA neuron, bad ones are named") {
    auto error_of = [](const std::string& text) -> std::string {
        try {
            (void)io::load_spec_text(text, "t.pbtxt");
        } catch (const io::SpecError& e) {
            return e.what();
        }
        return "<no error>";
    };
    const io::LoadedSpec ok = io::load_spec_text(R"pb(
population { name: "D" size: 1 lif_cond_exp {} }
population {
  name: "N" size: 3
  lif_cond_exp { tau_m_ms: 15 g_leak_nS: 20 tau_e_ms: 3 tau_i_ms: 7 e_e_mV: 5 e_i_mV: -75 v_rest_mV: -65
                 v_th_mV: -52 v_reset_mV: -62 t_ref_ms: 2 v_init_mV { uniform { low: -62 high: -55 } } }
})pb",
                                                 "t.pbtxt");
    const auto& d = std::get<LifCondExpParams>(ok.spec.populations[0].model);
    CHECK((d.tau_m_ms == 20.0 && d.g_leak_nS == 10.0 && d.tau_e_ms == 5.0 && d.tau_i_ms == 10.0));
    CHECK((d.e_e_mV == 0.0 && d.e_i_mV == -80.0 && d.v_rest_mV == -60.0 && d.v_th_mV == -50.0));
    CHECK((d.v_reset_mV == -60.0 && d.t_ref_ms == 5.0 && std::get<double>(d.v_init_mV) == -60.0));
    const auto& lp = std::get<LifCondExpParams>(ok.spec.populations[1].model);
    CHECK((lp.tau_m_ms == 15.0 && lp.g_leak_nS == 20.0 && lp.tau_e_ms == 3.0 && lp.tau_i_ms == 7.0));
    CHECK((lp.e_e_mV == 5.0 && lp.e_i_mV == -75.0 && lp.v_rest_mV == -65.0 && lp.v_th_mV == -52.0));
    CHECK((lp.v_reset_mV == -62.0 && lp.t_ref_ms == 2.0));
    CHECK(std::get<UniformDist>(lp.v_init_mV).low == -62.0);

    CHECK(error_of(R"pb(population { name: "N" size: 1 lif_cond_exp { g_leak_nS: 0 tau_i_ms: -1 } })pb") ==
          "t.pbtxt:1:47: population \"N\".lif_cond_exp.g_leak_nS = 0: must be > 0 (nS)\n"
          "t.pbtxt:1:60: population \"N\".lif_cond_exp.tau_i_ms = -1: must be > 0 (ms)");
    CHECK(error_of(R"pb(population { name: "N" size: 1 lif_cond_exp { e_i_mV: nan v_init_mV { constant: -50 } } })pb") ==
          "t.pbtxt:1:47: population \"N\".lif_cond_exp.e_i_mV = nan: must be a finite number (mV)\n"
          "t.pbtxt:1:59: population \"N\".lif_cond_exp.v_init_mV: every initial value must be below v_th_mV = -50 "
          "(mV); it allows -50");

    // A voltage-slope rule cannot take a conductance input's own PSP out of V.
    const std::string plastic = R"pb(population { name: "S" size: 2 poisson { rate_hz: 5 } }
population { name: "N" size: 1 lif_cond_exp {} }
projection { source: "S" target: "N" all_to_all {} weight_mV { constant: 1 } delay_ms { constant: 1 }
  plasticity { voltage_slope { eta_ms: 0.1 window_ms: 1 REST } w_min_mV: -10 w_max_mV: 10 } })pb";
    auto rule = [&](const std::string& rest) {
        std::string t = plastic;
        return t.replace(t.find("REST"), 4, rest);
    };
    CHECK(error_of(rule("")).find("projection \"S->N\".plasticity.voltage_slope.exclude_own_psp = true: lif_cond_exp "
                                  "has no fixed PSP to remove") != std::string::npos);
    CHECK(error_of(rule("exclude_own_psp: false")) == "<no error>");

    // The benchmark spec: the model, and weights read as nS.
    const io::LoadedSpec coba = io::load_spec_file(std::string(SPIKEEM_SOURCE_DIR) + "/examples/benchmarks/coba.pbtxt");
    CHECK(std::holds_alternative<LifCondExpParams>(coba.spec.populations[0].model));
    Simulation sim(coba.spec);
    CHECK(sim.population(0).model() == std::string("lif_cond_exp"));
}
