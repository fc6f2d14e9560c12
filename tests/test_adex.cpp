// Adaptive exponential integrate-and-fire (adex): subthreshold V and w against a
// fine RK4 reference, the firing patterns of Naud et al. (2008) spike for spike
// against the same reference, neurons driven by input jumps, refractoriness,
// injected currents, the linearised PSP, 1 and 2 threads, and spec loading.
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
// `sample_every` ticks in [0, end); i_e_pA set to i_e_from[t] from tick t on (an
// injected current; V and w carry on).
Reference reference(AdExParams p, double v0, double w0, const std::map<Tick, double>& inputs,
                    double ms_per_tick, Tick sample_every, Tick end, const std::map<Tick, double>& i_e_from = {}) {
    Reference out;
    auto ic = i_e_from.begin();
    const Tick t_ref = std::llround(p.t_ref_ms / ms_per_tick);
    Y y{v0, w0};
    Tick clamp = -1;
    auto it = inputs.begin();
    const double rate0 = p.g_leak_nS / p.c_pF;
    for (Tick t = 0;;) {
        for (; ic != i_e_from.end() && ic->first <= t; ++ic) p.i_e_pA = ic->second;
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
        if (ic != i_e_from.end()) next = std::min(next, ic->first);
        if (t < clamp) {  // V held at v_reset, w relaxes
            next = std::min(next, clamp);
            const double len = static_cast<double>(next - t) * ms_per_tick;
            const int n = static_cast<int>(std::ceil(len / 1e-3));
            auto dw = [&](double w) { return (p.a_nS * (p.v_reset_mV - p.e_leak_mV) - w) / p.tau_w_ms; };
            for (int k = 0; k < n; ++k) {  // RK4 on w alone, V fixed
                const double h = len / n, k1 = dw(y.w), k2 = dw(y.w + h / 2 * k1), k3 = dw(y.w + h / 2 * k2),
                             k4 = dw(y.w + h * k3);
                y.w += h / 6 * (k1 + 2 * k2 + 2 * k3 + k4);
            }
            t = next;
            continue;
        }
        const double span = static_cast<double>(next - t) * ms_per_tick;
        double s = 0.0;
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
            break;
        }
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

// Run one neuron of p for duration_ms at 1 ps resolution and compare its spikes with
// the reference: the same count, each within 1e-7 ms (a tenth of the default 1 ns tick)
// of the reference's crossing; returns the spike times (ms).  The reference itself moves
// its crossings by up to 6e-8 ms (bursting; 1e-9 to 7e-9 ms for the others) when its
// step is quartered, so this bounds the two errors together.
std::vector<double> pattern_against_reference(const AdExParams& p, double duration_ms) {
    NetworkSpec s;
    s.run.duration_ms = duration_ms;
    s.run.time_digits = 9;
    s.populations = {adex_pop("n", 1, p)};
    s.record.spike_populations = {"n"};
    Simulation sim(s);
    sim.run();
    const std::vector<Tick> got = spike_ticks(sim, 0, 0);
    const Tick end = sim.duration_ticks();
    const Reference ref = reference(p, std::get<double>(p.v_init_mV), p.w_init_pA, {}, 1e-9, end, end);
    REQUIRE(got.size() == ref.spike_ticks.size());
    double worst = 0.0;
    std::vector<double> times;
    for (std::size_t k = 0; k < got.size(); ++k) {
        times.push_back(static_cast<double>(got[k]) * 1e-9);
        worst = std::max(worst, std::abs(times.back() - ref.crossing_ms[k]));
    }
    const auto& pop = dynamic_cast<const AdExPopulation&>(sim.population(0));
    MESSAGE(got.size(), " spikes in ", duration_ms, " ms; largest |spike time - reference crossing| ", worst,
            " ms (1 tick = 1e-9 ms); ", pop.steps(0), " steps");
    CHECK(worst < 1e-7);
    return times;
}

std::vector<double> isis(const std::vector<double>& t) {
    std::vector<double> out;
    for (std::size_t k = 1; k < t.size(); ++k) out.push_back(t[k] - t[k - 1]);
    return out;
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

TEST_CASE("adex tonic spiking (Naud 2008) matches RK4 spike for spike, with constant ISIs") {
    const std::vector<double> got = pattern_against_reference(kTonic, 500.0);
    const std::vector<double> isi = isis(got);
    REQUIRE(isi.size() >= 10);
    // b = 0 and a fast tau_w: the ISI settles within a few spikes and stays.
    const double last = isi.back();
    for (std::size_t k = isi.size() / 2; k < isi.size(); ++k) CHECK(std::abs(isi[k] - last) < 1e-3 * last);
    MESSAGE("tonic: first ISI ", isi.front(), " ms, last ", last, " ms");
}

TEST_CASE("adex adapting (Naud 2008) matches RK4 spike for spike, with growing ISIs") {
    const std::vector<double> got = pattern_against_reference(kAdapting, 500.0);
    const std::vector<double> isi = isis(got);
    REQUIRE(isi.size() >= 6);
    for (std::size_t k = 1; k < isi.size(); ++k) CHECK(isi[k] >= isi[k - 1] - 1e-6);
    CHECK(isi.back() > 2.0 * isi.front());
    MESSAGE("adapting: ISIs from ", isi.front(), " to ", isi.back(), " ms");
}

TEST_CASE("adex initial burst (Naud 2008) matches RK4 spike for spike, short ISIs first then regular") {
    const std::vector<double> got = pattern_against_reference(kInitialBurst, 500.0);
    const std::vector<double> isi = isis(got);
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

TEST_CASE("adex regular bursting (Naud 2008) matches RK4 spike for spike, short and long ISIs alternating") {
    const std::vector<double> got = pattern_against_reference(kBursting, 500.0);
    const std::vector<double> isi = isis(got);
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

TEST_CASE("adex driven by input jumps matches RK4: spikes by jumps and by the exponential, refractoriness") {
    // Four unconnected Brette & Gerstner neurons (v_peak 0 mV) under 450 pA, three with
    // t_ref 2 ms, each driven by its own Poisson-like train of +4 mV and -3 mV jumps
    // (about 0.5 per ms), delay 0.3 ms, 400 ms at 1 ps.  Neuron 3 gets +30 mV jumps
    // instead of +4 mV: a jump to within a few delta_t of v_peak leaves a fraction of a
    // microsecond to the crossing.  Checked: spike times within 1e-7 ms (a tenth of the
    // default 1 ns tick) of the reference's crossings, V samples every 0.1 ms (away from
    // spikes) within 1e-5 mV (errors of 1e-8 ms in time, times dV/dt on the upstroke).
    const std::uint32_t n = 4;
    const double duration = 400.0, delay = 0.3;
    AdExParams p;
    p.i_e_pA = 450.0;
    p.t_ref_ms = 2.0;
    p.v_init_mV = UniformDist{-70.0, -55.0};
    AdExParams p0 = p;
    p0.t_ref_ms = 0.0;
    std::mt19937_64 rng(17);
    std::exponential_distribution<double> gap(0.5);
    std::vector<std::vector<double>> up(n), down(n);
    for (std::uint32_t k = 0; k < n; ++k)
        for (double t = gap(rng); t < duration - 1.0; t += gap(rng))
            (rng() % 3 == 0 ? down : up)[k].push_back(std::round(t * 1e4) / 1e4);
    NetworkSpec s;
    s.run.duration_ms = duration;
    s.run.time_digits = 9;
    s.run.seed = 9;
    s.populations = {adex_pop("n0", 1, p0), adex_pop("n", n - 1, p), spike_times("up", up), spike_times("down", down)};
    auto pairs = [](std::uint32_t pre, std::uint32_t post) {
        return ExplicitPairs{{{pre, post, std::nullopt, std::nullopt}}};
    };
    s.projections = {connect("up", "n0", pairs(0, 0), 4.0, delay), connect("down", "n0", pairs(0, 0), -3.0, delay)};
    for (std::uint32_t k = 1; k < n; ++k) {
        ProjectionSpec u = connect("up", "n", pairs(k, k - 1), k == 3 ? 30.0 : 4.0, delay);
        ProjectionSpec d = connect("down", "n", pairs(k, k - 1), -3.0, delay);
        u.name = "up" + std::to_string(k);
        d.name = "down" + std::to_string(k);
        s.projections.push_back(u);
        s.projections.push_back(d);
    }
    s.record.voltages = {VoltageProbeSpec{"n0", {}, 0.1}, VoltageProbeSpec{"n", {}, 0.1}};
    s.record.spike_populations = {"n0", "n"};
    Simulation sim(s);
    sim.run();

    const Tick per_ms = 1000000000;
    double worst_v = 0.0, worst_t = 0.0;
    std::size_t spikes = 0, compared = 0;
    for (std::uint32_t k = 0; k < n; ++k) {
        CAPTURE(k);
        const std::uint32_t pop = k == 0 ? 0 : 1, local = k == 0 ? 0 : k - 1;
        std::map<Tick, double> in;
        for (double t : up[k]) in[std::llround((t + delay) * 1e4) * (per_ms / 10000)] += k == 3 ? 30.0 : 4.0;
        for (double t : down[k]) in[std::llround((t + delay) * 1e4) * (per_ms / 10000)] += -3.0;
        std::vector<double> v;
        for (const VoltageSample& x : sim.voltages())
            if (x.population == pop && x.neuron == local) v.push_back(x.v_mV);
        const Reference ref = reference(k == 0 ? p0 : p, v.front(), 0.0, in, 1e-9, per_ms / 10,
                                        static_cast<Tick>(duration) * per_ms);
        const std::vector<Tick> got = spike_ticks(sim, pop, local);
        REQUIRE(got.size() == ref.spike_ticks.size());
        for (std::size_t j = 0; j < got.size(); ++j) {
            worst_t = std::max(worst_t, std::abs(static_cast<double>(got[j]) * 1e-9 - ref.crossing_ms[j]));
        }
        spikes += got.size();
        REQUIRE(v.size() == ref.v.size());
        // Samples are compared away from spikes (within 0.01 ms of one, a sample can fall on
        // either side of a crossing that the two integrations place a tick apart).
        for (std::size_t j = 0; j < v.size(); ++j) {
            const Tick at = static_cast<Tick>(j) * (per_ms / 10);
            const bool near = std::any_of(got.begin(), got.end(), [&](Tick t) { return std::abs(t - at) < per_ms / 100; });
            if (near) continue;
            worst_v = std::max(worst_v, std::abs(v[j] - ref.v[j]));
            ++compared;
        }
    }
    MESSAGE(spikes, " spikes; largest |spike time - RK4 crossing| ", worst_t, " ms; largest |V - V_rk4| ", worst_v,
            " mV over ", compared, " samples");
    CHECK(spikes >= 40);
    CHECK(worst_t < 1e-7);
    CHECK(worst_v < 1e-5);
}

TEST_CASE("adex gives identical spikes and voltages on 1 and 2 threads") {
    // 200 Brette & Gerstner neurons, recurrent jumps (E +1 mV, I -4 mV) and a Poisson drive.
    NetworkSpec s;
    s.run.duration_ms = 300.0;
    s.run.seed = 4;
    AdExParams p;
    p.i_e_pA = 300.0;
    p.t_ref_ms = 1.0;
    p.v_init_mV = UniformDist{-70.0, -55.0};
    s.populations = {adex_pop("P", 200, p), poisson("drive", 200, 400.0)};
    const auto [from_e, from_i] = random_ei_pairs(200, 160, 0.05, 8);
    ProjectionSpec pe = connect("P", "P", from_e, 1.0, 1.0), pi = connect("P", "P", from_i, -4.0, 1.0);
    pe.name = std::string("from E");
    pi.name = std::string("from I");
    s.projections = {pe, pi, connect("drive", "P", OneToOne{}, 2.0, 0.5)};
    s.record.spike_populations = {"P"};
    s.record.voltages = {VoltageProbeSpec{"P", {0, 50, 150, 199}, 0.25}};
    const auto [one, p1] = spike_and_voltage_bits(s, 1);
    const auto [two, p2] = spike_and_voltage_bits(s, 2);
    CHECK(p2 == 2);
    MESSAGE(one.size(), " numbers compared");
    CHECK(one.size() > 3 * 1000);
    CHECK(one == two);
}

TEST_CASE("adex specs: parameters load, defaults are Brette & Gerstner's, the examples run their patterns") {
    const io::LoadedSpec ok = io::load_spec_text(R"pb(
population { name: "D" size: 1 adex {} }
population {
  name: "N" size: 3
  adex { c_pF: 200 g_leak_nS: 10 e_leak_mV: -70 v_t_mV: -50 delta_t_mV: 2 a_nS: -2 tau_w_ms: 30 b_pA: 10
         v_reset_mV: -58 v_peak_mV: -30 t_ref_ms: 1 i_e_pA: 500 w_init_pA: 5
         v_init_mV { uniform { low: -70 high: -60 } } }
})pb",
                                                 "t.pbtxt");
    const auto& d = std::get<AdExParams>(ok.spec.populations[0].model);
    CHECK((d.c_pF == 281.0 && d.g_leak_nS == 30.0 && d.e_leak_mV == -70.6 && d.v_t_mV == -50.4));
    CHECK((d.delta_t_mV == 2.0 && d.a_nS == 4.0 && d.tau_w_ms == 144.0 && d.b_pA == 80.5));
    CHECK((d.v_reset_mV == -70.6 && d.v_peak_mV == 0.0 && d.t_ref_ms == 0.0 && d.i_e_pA == 0.0));
    CHECK((std::get<double>(d.v_init_mV) == -70.6 && d.w_init_pA == 0.0));
    const auto& a = std::get<AdExParams>(ok.spec.populations[1].model);
    CHECK((a.c_pF == 200.0 && a.g_leak_nS == 10.0 && a.e_leak_mV == -70.0 && a.v_t_mV == -50.0));
    CHECK((a.a_nS == -2.0 && a.tau_w_ms == 30.0 && a.b_pA == 10.0 && a.v_reset_mV == -58.0));
    CHECK((a.v_peak_mV == -30.0 && a.t_ref_ms == 1.0 && a.i_e_pA == 500.0 && a.w_init_pA == 5.0));
    CHECK(std::get<UniformDist>(a.v_init_mV).high == -60.0);

    // A voltage-slope rule takes the linearised own PSP out of V (AdExPopulation::psp_mV).
    auto error_of = [](const std::string& text) -> std::string {
        try {
            (void)io::load_spec_text(text, "t.pbtxt");
        } catch (const io::SpecError& e) {
            return e.what();
        }
        return "<no error>";
    };
    const std::string plastic = R"pb(population { name: "S" size: 2 poisson { rate_hz: 5 } }
population { name: "N" size: 1 adex {} }
projection { source: "S" target: "N" all_to_all {} weight_mV { constant: 1 } delay_ms { constant: 1 }
  plasticity { voltage_slope { eta_ms: 0.1 window_ms: 1 REST } w_min_mV: -10 w_max_mV: 10 } })pb";
    auto rule = [&](const std::string& rest) {
        std::string t = plastic;
        return t.replace(t.find("REST"), 4, rest);
    };
    CHECK(error_of(rule("")) == "<no error>");
    CHECK(error_of(rule("exclude_own_psp: false")) == "<no error>");

    // The examples hold Naud et al.'s parameters: each spec gives the test's spike train.
    const std::pair<const char*, const AdExParams*> examples[] = {
        {"tonic", &kTonic}, {"adapting", &kAdapting}, {"initial_burst", &kInitialBurst}, {"bursting", &kBursting}};
    for (const auto& example : examples) {
        // Not a structured binding: CAPTURE's lambda cannot capture one before clang 16.
        const char* const name = example.first;
        const AdExParams* const params = example.second;
        CAPTURE(name);
        const io::LoadedSpec ex =
            io::load_spec_file(std::string(SPIKEEM_SOURCE_DIR) + "/examples/adex/" + name + ".pbtxt");
        NetworkSpec ref;
        ref.run.duration_ms = ex.spec.run.duration_ms;
        ref.populations = {adex_pop("n", 1, *params)};
        ref.record.spike_populations = {"n"};
        Simulation a_sim(ex.spec), b_sim(ref);
        a_sim.run();
        b_sim.run();
        CHECK(a_sim.population(0).model() == std::string("adex"));
        CHECK(spike_ticks(a_sim, 0, 0) == spike_ticks(b_sim, 0, 0));
        CHECK(spike_ticks(a_sim, 0, 0).size() >= 9);
    }
}

TEST_CASE("adex with other cut-offs matches RK4: v_peak below the z switch, at v_t + 5 delta_t, small delta_t") {
    // Brette & Gerstner's neuron at 800 pA with v_peak = -49 mV (below v_t + 2 delta_t:
    // every step in V, the crossing found in V), with their v_t + 5 delta_t = -40.4 mV
    // cut-off, and with delta_t = 0.2 mV, v_peak = -30 mV (a steep exponential, z from
    // v_t + 0.4 mV on).
    AdExParams low;
    low.i_e_pA = 800.0;
    low.v_peak_mV = -49.0;
    AdExParams cut = low;
    cut.v_peak_mV = -50.4 + 5 * 2.0;
    AdExParams steep = low;
    steep.delta_t_mV = 0.2;
    steep.v_peak_mV = -30.0;
    for (const AdExParams& p : {low, cut, steep}) {
        CAPTURE(p.v_peak_mV);
        const std::vector<double> got = pattern_against_reference(p, 300.0);
        CHECK(got.size() >= 5);
    }
}

TEST_CASE("adex current_input: step currents match RK4 with i_e switched at the steps, a DC matches i_e_pA") {
    // Naud's tonic and adapting neurons (the latter with t_ref 1 ms) from i_e = 0, each
    // given steps of R I (mV, R = 1/g_leak): on at 20 ms, lower at 150.0000003 ms (off the
    // reference's sample grid), off at 260 ms.  The reference switches i_e_pA = delta g_leak
    // at those ticks with V and w continuous.  Spike times within 1e-7 ms of its crossings
    // (the tolerance of the pattern tests above), at 1 ps.
    AdExParams tonic = kTonic, adapting = kAdapting;
    tonic.i_e_pA = 0.0;
    adapting.i_e_pA = 0.0;
    adapting.t_ref_ms = 1.0;
    NetworkSpec s;
    s.run.duration_ms = 350.0;
    s.run.time_digits = 9;
    s.populations = {adex_pop("T", 1, tonic), adex_pop("A", 1, adapting)};
    const std::vector<double> at_ms = {20.0, 150.0000003, 260.0}, amplitude_mV = {50.0, 35.0, 0.0};
    for (const char* target : {"T", "A"}) {
        CurrentInputSpec c;
        c.name = std::string("steps ") + target;
        c.target = target;
        c.kind = StepCurrent{at_ms, amplitude_mV};
        s.current_inputs.push_back(c);
    }
    s.record.spike_populations = {"T", "A"};
    Simulation sim(s);
    sim.run();
    for (std::uint32_t k = 0; k < 2; ++k) {
        const AdExParams& p = k == 0 ? tonic : adapting;
        CAPTURE(k);
        std::map<Tick, double> i_e;
        for (std::size_t j = 0; j < at_ms.size(); ++j) i_e[sim.time().round(at_ms[j])] = amplitude_mV[j] * p.g_leak_nS;
        const Tick end = sim.duration_ticks();
        const Reference ref = reference(p, std::get<double>(p.v_init_mV), p.w_init_pA, {}, 1e-9, end, end, i_e);
        const std::vector<Tick> got = spike_ticks(sim, k, 0);
        REQUIRE(got.size() == ref.spike_ticks.size());
        double worst = 0.0;
        for (std::size_t j = 0; j < got.size(); ++j)
            worst = std::max(worst, std::abs(static_cast<double>(got[j]) * 1e-9 - ref.crossing_ms[j]));
        MESSAGE(got.size(), " spikes; largest |spike time - RK4 crossing| ", worst, " ms");
        CHECK(got.size() >= 5);
        CHECK(worst < 1e-7);
        // None after the current is switched off (both rest below v_t without it).
        CHECK(got.back() < sim.time().round(262.0));
    }

    // A DC current from 0 against the same neuron given it as i_e_pA: the same spikes,
    // to the tick at 1 ns (the two integrate along different step sequences, each
    // within ~1e-8 ms of the exact crossing), over 30 spikes.
    AdExParams with_ie = kTonic;
    NetworkSpec d;
    d.run.duration_ms = 500.0;
    d.populations = {adex_pop("I", 1, with_ie), adex_pop("C", 1, tonic)};
    CurrentInputSpec dc;
    dc.name = "dc";
    dc.target = "C";
    dc.kind = DcCurrent{kTonic.i_e_pA / kTonic.g_leak_nS};
    d.current_inputs = {dc};
    d.record.spike_populations = {"I", "C"};
    Simulation dsim(d);
    dsim.run();
    const std::vector<Tick> a = spike_ticks(dsim, 0, 0), b = spike_ticks(dsim, 1, 0);
    MESSAGE(a.size(), " spikes with i_e_pA, ", b.size(), " with the DC current");
    CHECK(a.size() >= 30);
    CHECK(a == b);
    CHECK(dynamic_cast<const AdExPopulation&>(dsim.population(1)).i_e_pA(0) == kTonic.i_e_pA);
}

TEST_CASE("adex psp_mV is the linearised PSP: w exp(-(t - t_in) g_leak/c) until a spike, then 0") {
    // Two neurons at rest (a = b = 0, i_e = 0, far below v_t: the membrane is linear up
    // to g_L exp((V - v_t)/delta_t) terms of ~1e-5 relative), neuron 0 given a 0.5 mV
    // jump at 10 ms.  psp_mV follows its formula exactly, and here it also equals the
    // difference of the two neurons' V within 1e-3 of the jump.
    AdExParams p;
    p.a_nS = 0.0;
    p.b_pA = 0.0;
    NetworkSpec s;
    s.run.duration_ms = 60.0;
    s.populations = {adex_pop("N", 2, p), spike_times("S", {{9.0}})};
    s.projections = {connect("S", "N", ExplicitPairs{{{0, 0, std::nullopt, std::nullopt}}}, 0.5, 1.0)};
    s.record.voltages = {VoltageProbeSpec{"N", {0, 1}, 1.0}};
    Simulation sim(s);
    sim.run();
    const Population& n = sim.population(0);
    const Tick t_in = sim.time().round(10.0);
    const double tau_m = p.c_pF / p.g_leak_nS;
    std::map<Tick, double> v0, v1;
    for (const VoltageSample& x : sim.voltages()) (x.neuron == 0 ? v0 : v1)[x.t] = x.v_mV;
    std::size_t compared = 0;
    for (const auto& [t, v] : v0) {
        if (t < t_in) continue;
        const double want = 0.5 * std::exp(-ms(t - t_in) / tau_m);
        CHECK(n.psp_mV(0, 0.5, t_in, t) == doctest::Approx(want).epsilon(1e-14));
        CHECK(std::abs((v - v1[t]) - want) < 0.5e-3);
        ++compared;
    }
    CHECK(compared >= 50);

    // After a spike the input's part is gone; an input while refractory never counted.
    AdExParams q = kTonic;
    q.t_ref_ms = 2.0;
    NetworkSpec f;
    f.run.duration_ms = 100.0;
    f.populations = {adex_pop("F", 1, q)};
    f.record.spike_populations = {"F"};
    Simulation fsim(f);
    fsim.run();
    const std::vector<Tick> spikes = spike_ticks(fsim, 0, 0);
    REQUIRE(spikes.size() >= 2);
    const Population& fp = fsim.population(0);
    const Tick last = spikes.back(), end = fsim.duration_ticks();
    CHECK(fp.psp_mV(0, 1.0, last - 1000, end) == 0.0);                   // before the last spike
    CHECK(fp.psp_mV(0, 1.0, last + 1000, end) == 0.0);                   // while refractory
    const Tick after = last + fsim.time().round(2.0);                     // from the end of it on
    CHECK(fp.psp_mV(0, 1.0, after, end) == doctest::Approx(std::exp(-ms(end - after) * q.g_leak_nS / q.c_pF)));

    // And a voltage-slope rule that removes its own PSP runs on adex targets.
    const io::LoadedSpec plastic = io::load_spec_text(R"pb(run { duration_ms: 50 }
population { name: "S" size: 5 poisson { rate_hz: 200 } }
population { name: "N" size: 3 adex { i_e_pA: 400 } }
projection { source: "S" target: "N" all_to_all {} weight_mV { constant: 2 } delay_ms { constant: 1 }
  plasticity { voltage_slope { eta_ms: 0.1 window_ms: 1 } w_min_mV: -10 w_max_mV: 10 } }
record { spikes: "N" })pb",
                                                      "t.pbtxt");
    Simulation psim(plastic.spec);
    psim.run();
    CHECK(psim.sorted_spikes().size() > 0);
}
