// Adaptive exponential integrate-and-fire (adex): subthreshold V and w against a
// fine RK4 reference, the firing patterns of Naud et al. (2008) spike for spike
// against the same reference, neurons driven by input jumps, refractoriness, 1 and
// 2 threads, and spec loading.
//
// The reference (written here, independent of the model's code): classic RK4 on
// (V, w) in V itself, in steps of min(1e-4 ms, 0.01 / the exponential's rate
// g_L/C exp((V - V_T)/Delta_T)), so that the last stretch before v_peak is resolved
// too; a step ending at or past v_peak (or not finite) is bisected (RK4 from its
// start) to 1e-15 ms: the crossing.  As in spikeem the spike is at the first tick
// at or after the crossing, w moves on to that tick with V at v_peak, then V =
// v_reset, w += b.  Inputs at a tick act before the sample at that tick.
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "helpers.hpp"
#include "io/spec_loader.hpp"
#include "network/models/adex.hpp"

using namespace spikeem;
using namespace spikeem::test;

namespace {

PopulationSpec adex_pop(const std::string& name, std::uint32_t size, AdExParams p) {
    return PopulationSpec{name, size, p};
}

struct Y {
    double v, w;
};

Y deriv(const AdExParams& p, const Y& y) {
    const double v = std::min(y.v, p.v_peak_mV);
    return Y{(-p.g_leak_nS * (v - p.e_leak_mV) + p.g_leak_nS * p.delta_t_mV * std::exp((v - p.v_t_mV) / p.delta_t_mV) -
              y.w + p.i_e_pA) /
                 p.c_pF,
             (p.a_nS * (v - p.e_leak_mV) - y.w) / p.tau_w_ms};
}

Y rk4(const AdExParams& p, const Y& y, double h) {
    auto ax = [](const Y& s, double a, const Y& k) { return Y{s.v + a * k.v, s.w + a * k.w}; };
    const Y k1 = deriv(p, y), k2 = deriv(p, ax(y, h / 2, k1)), k3 = deriv(p, ax(y, h / 2, k2)),
            k4 = deriv(p, ax(y, h, k3));
    return Y{y.v + h / 6 * (k1.v + 2 * k2.v + 2 * k3.v + k4.v), y.w + h / 6 * (k1.w + 2 * k2.w + 2 * k3.w + k4.w)};
}

struct Reference {
    std::vector<double> v, w;         // at every sample
    std::vector<double> crossing_ms;  // exact crossings of v_peak
    std::vector<Tick> spike_ticks;    // rounded up
};

// One neuron from (v0, w0) with voltage jumps `inputs` (tick -> mV), samples every
// `sample_every` ticks in [0, end).
Reference reference(const AdExParams& p, double v0, double w0, const std::map<Tick, double>& inputs,
                    double ms_per_tick, Tick sample_every, Tick end) {
    Reference out;
    const Tick t_ref = std::llround(p.t_ref_ms / ms_per_tick);
    Y y{v0, w0};
    Tick clamp = -1;
    auto it = inputs.begin();
    const double rate0 = p.g_leak_nS / p.c_pF;
    for (Tick t = 0;;) {
        for (; it != inputs.end() && it->first == t; ++it) {
            if (t < clamp) continue;  // lost while refractory
            y.v += it->second;
            if (y.v >= p.v_peak_mV) {  // a spike at once
                out.crossing_ms.push_back(static_cast<double>(t) * ms_per_tick);
                out.spike_ticks.push_back(t);
                y = Y{p.v_reset_mV, y.w + p.b_pA};
                clamp = t + t_ref;
            }
        }
        if (t >= end) break;
        if (t % sample_every == 0) {
            out.v.push_back(t < clamp ? p.v_reset_mV : y.v);
            out.w.push_back(y.w);
        }
        Tick next = std::min(end, (t / sample_every + 1) * sample_every);
        if (it != inputs.end()) next = std::min(next, it->first);
        if (t < clamp) {  // V held at v_reset, w relaxes
            next = std::min(next, clamp);
            const Y held{p.v_reset_mV, y.w};
            const double len = static_cast<double>(next - t) * ms_per_tick;
            const int n = static_cast<int>(std::ceil(len / 1e-3));
            for (int k = 0; k < n; ++k) y.w = rk4(p, Y{p.v_reset_mV, y.w}, len / n).w;
            (void)held;
            t = next;
            continue;
        }
        const double span = static_cast<double>(next - t) * ms_per_tick;
        double s = 0.0;
        bool fired = false;
        while (s < span) {
            const double rate = rate0 * std::exp((std::min(y.v, p.v_peak_mV) - p.v_t_mV) / p.delta_t_mV);
            const double h = std::min({1e-4, 0.01 / rate, span - s});
            const Y y1 = rk4(p, y, h);
            if (!(y1.v >= p.v_peak_mV) && std::isfinite(y1.v)) {
                y = y1;
                s += h;
                continue;
            }
            double lo = 0.0, hi = h;
            while (hi - lo > 1e-15) {
                const double mid = 0.5 * (lo + hi);
                const Y ym = rk4(p, y, mid);
                (!(ym.v < p.v_peak_mV) ? hi : lo) = mid;
            }
            const double tc = static_cast<double>(t) * ms_per_tick + s + hi;
            const Tick ts = std::max<Tick>(t + 1, static_cast<Tick>(std::ceil(tc / ms_per_tick - 1e-9)));
            out.crossing_ms.push_back(tc);
            out.spike_ticks.push_back(ts);
            y = rk4(p, y, hi);
            y.w += (p.a_nS * (p.v_peak_mV - p.e_leak_mV) - y.w) / p.tau_w_ms * (static_cast<double>(ts) * ms_per_tick - tc);
            y = Y{p.v_reset_mV, y.w + p.b_pA};
            clamp = ts + t_ref;
            next = ts;
            fired = true;
            break;
        }
        (void)fired;
        t = next;
    }
    return out;
}

// Naud et al. (2008), Table 1 (as in Brian2's example of that paper): C (pF), g_L (nS),
// E_L, V_T, Delta_T (mV), a (nS), tau_w (ms), b (pA), V_r (mV), I (pA); v_peak 0 mV.
AdExParams naud(double c, double gl, double el, double vt, double dt, double a, double tau_w, double b, double vr,
                double i) {
    AdExParams p;
    p.c_pF = c;
    p.g_leak_nS = gl;
    p.e_leak_mV = el;
    p.v_t_mV = vt;
    p.delta_t_mV = dt;
    p.a_nS = a;
    p.tau_w_ms = tau_w;
    p.b_pA = b;
    p.v_reset_mV = vr;
    p.i_e_pA = i;
    p.v_peak_mV = 0.0;
    p.t_ref_ms = 0.0;
    p.v_init_mV = el;
    p.w_init_pA = 0.0;
    return p;
}
const AdExParams kTonic = naud(200, 10, -70, -50, 2, 2, 30, 0, -58, 500);
const AdExParams kAdapting = naud(200, 12, -70, -50, 2, 2, 300, 60, -58, 500);
const AdExParams kInitialBurst = naud(130, 18, -58, -50, 2, 4, 150, 120, -50, 400);
const AdExParams kBursting = naud(200, 10, -58, -50, 2, 2, 120, 100, -46, 210);

std::vector<double> isis_ms(const std::vector<Tick>& ticks) {
    std::vector<double> out;
    for (std::size_t k = 1; k < ticks.size(); ++k) out.push_back(ms(ticks[k] - ticks[k - 1]));
    return out;
}

// Run one neuron of p for duration_ms (1 ns) and compare its spikes with the reference:
// the same count, each within one tick of the reference's; returns the spike ticks.
std::vector<Tick> pattern_against_reference(const AdExParams& p, double duration_ms) {
    NetworkSpec s;
    s.run.duration_ms = duration_ms;
    s.populations = {adex_pop("n", 1, p)};
    s.record.spike_populations = {"n"};
    Simulation sim(s);
    sim.run();
    const std::vector<Tick> got = spike_ticks(sim, 0, 0);
    const Tick end = sim.duration_ticks();
    const Reference ref = reference(p, std::get<double>(p.v_init_mV), p.w_init_pA, {}, 1e-6, end, end);
    REQUIRE(got.size() == ref.spike_ticks.size());
    double worst = 0.0;
    Tick worst_tick = 0;
    for (std::size_t k = 0; k < got.size(); ++k) {
        worst = std::max(worst, std::abs(ms(got[k]) - ref.crossing_ms[k]));
        worst_tick = std::max(worst_tick, std::abs(got[k] - ref.spike_ticks[k]));
    }
    const auto& pop = dynamic_cast<const AdExPopulation&>(sim.population(0));
    MESSAGE(got.size(), " spikes in ", duration_ms, " ms; largest |spike time - reference crossing| ", worst,
            " ms; largest tick difference ", worst_tick, "; ", pop.steps(0), " steps");
    CHECK(worst_tick <= 1);
    CHECK(worst < 2e-6);
    return got;
}

}  // namespace

TEST_CASE("adex subthreshold V and w match RK4 at 1e-4 ms") {
    // Four unconnected neurons, none reaching v_peak: (0) a = b = 0, delta_t 0.5 mV
    // (the exponential negligible) relaxing from -75 mV under 150 pA, the linear
    // membrane's closed form; (1) Brette & Gerstner's neuron with w_init 50 pA, a = 4 nS
    // and 400 pA (below rheobase): V and w against RK4; (2) the same with input jumps
    // (+2 mV, -3 mV) arriving mid-step; (3) a = -2 nS (w driven negative) with jumps.
    AdExParams lin;
    lin.a_nS = 0.0;
    lin.b_pA = 0.0;
    lin.delta_t_mV = 0.5;
    lin.i_e_pA = 150.0;
    lin.v_init_mV = -75.0;
    AdExParams bg;
    bg.i_e_pA = 400.0;
    bg.w_init_pA = 50.0;
    bg.v_init_mV = -65.0;
    AdExParams neg = bg;
    neg.a_nS = -2.0;
    neg.i_e_pA = 300.0;
    const double duration = 300.0;
    std::vector<std::vector<double>> jumps_at = {{}, {}, {}, {}};
    std::mt19937_64 rng(3);
    std::exponential_distribution<double> gap(0.2);  // per ms
    for (int k : {2, 3})
        for (double t = gap(rng); t < duration - 5; t += gap(rng)) jumps_at[k].push_back(std::round(t * 1e3) / 1e3);
    std::vector<std::vector<double>> plus(4), minus(4);
    for (int k : {2, 3})
        for (std::size_t j = 0; j < jumps_at[k].size(); ++j) (j % 3 == 2 ? minus : plus)[k].push_back(jumps_at[k][j]);

    NetworkSpec s;
    s.run.duration_ms = duration;
    s.populations = {adex_pop("lin", 1, lin), adex_pop("bg", 1, bg), adex_pop("bg_in", 1, bg), adex_pop("neg", 1, neg),
                     spike_times("plus", {{}, {}, plus[2], plus[3]}), spike_times("minus", {{}, {}, minus[2], minus[3]})};
    s.projections = {connect("plus", "bg_in", ExplicitPairs{{{2, 0, std::nullopt, std::nullopt}}}, 2.0, 0.5),
                     connect("plus", "neg", ExplicitPairs{{{3, 0, std::nullopt, std::nullopt}}}, 2.0, 0.5),
                     connect("minus", "bg_in", ExplicitPairs{{{2, 0, std::nullopt, std::nullopt}}}, -3.0, 0.5),
                     connect("minus", "neg", ExplicitPairs{{{3, 0, std::nullopt, std::nullopt}}}, -3.0, 0.5)};
    s.record.voltages = {VoltageProbeSpec{"lin", {}, 0.5}, VoltageProbeSpec{"bg", {}, 0.5},
                         VoltageProbeSpec{"bg_in", {}, 0.5}, VoltageProbeSpec{"neg", {}, 0.5}};
    s.record.spike_populations = {"lin", "bg", "bg_in", "neg"};
    Simulation sim(s);
    // w is read every 5 ms, running in pieces (reading never perturbs the dynamics).
    std::vector<std::vector<double>> w_got(4);
    for (Tick t = 0; t < sim.duration_ticks(); t += 5000000) {
        sim.run_until(t);
        for (int k = 0; k < 4; ++k) w_got[k].push_back(dynamic_cast<const AdExPopulation&>(sim.population(k)).w_pA(0, t));
    }
    sim.run();
    REQUIRE(sim.sorted_spikes().empty());

    const AdExParams ps[4] = {lin, bg, bg, neg};
    const double v0[4] = {-75.0, -65.0, -65.0, -65.0}, w0[4] = {0.0, 50.0, 50.0, 50.0};
    double worst_v = 0.0, worst_w = 0.0, worst_closed = 0.0;
    for (int k = 0; k < 4; ++k) {
        std::map<Tick, double> in;
        for (double t : plus[k]) in[std::llround((t + 0.5) * 1e3) * 1000] += 2.0;
        for (double t : minus[k]) in[std::llround((t + 0.5) * 1e3) * 1000] += -3.0;
        const Reference ref = reference(ps[k], v0[k], w0[k], in, 1e-6, 500000, sim.duration_ticks());
        std::vector<double> v;
        for (const VoltageSample& x : sim.voltages())
            if (x.population == static_cast<std::uint32_t>(k)) v.push_back(x.v_mV);
        REQUIRE(v.size() == ref.v.size());
        for (std::size_t j = 0; j < v.size(); ++j) worst_v = std::max(worst_v, std::abs(v[j] - ref.v[j]));
        for (std::size_t j = 0; j < w_got[k].size(); ++j)
            worst_w = std::max(worst_w, std::abs(w_got[k][j] - ref.w[10 * j]));
        if (k == 0)  // V = E_L + I/g_L + (V0 - E_L - I/g_L) e^{-t g_L/C}, the exponential < 1e-11 pA
            for (std::size_t j = 0; j < v.size(); ++j) {
                const double vinf = -70.6 + 150.0 / 30.0;
                worst_closed = std::max(worst_closed,
                                        std::abs(v[j] - (vinf + (-75.0 - vinf) * std::exp(-0.5 * j * 30.0 / 281.0))));
            }
    }
    MESSAGE("largest |V - V_rk4| ", worst_v, " mV, |w - w_rk4| ", worst_w, " pA, |V - closed form| (a = b = 0) ",
            worst_closed, " mV");
    CHECK(worst_v < 1e-8);
    CHECK(worst_w < 1e-8);
    CHECK(worst_closed < 1e-8);
}

TEST_CASE("adex tonic spiking (Naud 2008) matches RK4 spike for spike; constant ISIs") {
    const std::vector<Tick> got = pattern_against_reference(kTonic, 500.0);
    const std::vector<double> isi = isis_ms(got);
    REQUIRE(isi.size() >= 10);
    // b = 0 and a fast tau_w: the ISI settles within a few spikes and stays.
    const double last = isi.back();
    for (std::size_t k = isi.size() / 2; k < isi.size(); ++k) CHECK(std::abs(isi[k] - last) < 1e-3 * last);
    MESSAGE("tonic: first ISI ", isi.front(), " ms, last ", last, " ms");
}

TEST_CASE("adex adapting (Naud 2008) matches RK4 spike for spike; ISIs increase") {
    const std::vector<Tick> got = pattern_against_reference(kAdapting, 500.0);
    const std::vector<double> isi = isis_ms(got);
    REQUIRE(isi.size() >= 6);
    for (std::size_t k = 1; k < isi.size(); ++k) CHECK(isi[k] >= isi[k - 1] - 1e-6);
    CHECK(isi.back() > 2.0 * isi.front());
    MESSAGE("adapting: ISIs from ", isi.front(), " to ", isi.back(), " ms");
}

TEST_CASE("adex initial burst (Naud 2008) matches RK4 spike for spike; short ISIs first, then regular") {
    const std::vector<Tick> got = pattern_against_reference(kInitialBurst, 500.0);
    const std::vector<double> isi = isis_ms(got);
    REQUIRE(isi.size() >= 6);
    // The burst: the first ISI(s) far shorter than every ISI of the tonic tail.
    const double tail_min = *std::min_element(isi.begin() + 3, isi.end());
    CHECK(isi[0] < 0.3 * tail_min);
    std::size_t burst = 0;
    while (burst < isi.size() && isi[burst] < 0.3 * tail_min) ++burst;
    CHECK(burst >= 1);
    CHECK(burst <= 4);
    MESSAGE("initial burst: ", burst + 1, " spikes, first ISI ", isi[0], " ms, tail ISIs >= ", tail_min, " ms");
}

TEST_CASE("adex regular bursting (Naud 2008) matches RK4 spike for spike; short and long ISIs alternate") {
    const std::vector<Tick> got = pattern_against_reference(kBursting, 500.0);
    const std::vector<double> isi = isis_ms(got);
    REQUIRE(isi.size() >= 8);
    const double lo = *std::min_element(isi.begin(), isi.end()), hi = *std::max_element(isi.begin(), isi.end());
    CHECK(hi > 5.0 * lo);
    // Bimodal: every ISI is either short (< 3 lo) or long (> hi / 2), with several of each.
    int shorts = 0, longs = 0;
    for (double x : isi) {
        CHECK((x < 3.0 * lo || x > 0.5 * hi));
        shorts += x < 3.0 * lo;
        longs += x > 0.5 * hi;
    }
    CHECK(shorts >= 3);
    CHECK(longs >= 3);
    MESSAGE("bursting: ", shorts, " short ISIs (>= ", lo, " ms), ", longs, " long (<= ", hi, " ms)");
}
