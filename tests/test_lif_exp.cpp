// LIF with exponential synaptic currents (lif_exp): the crossing predictor
// against bisection, the closed-form state against RK4, the spikes of a small
// network against a brute-force fine-step integration, and spec validation.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "helpers.hpp"
#include "io/spec_loader.hpp"
#include "network/models/lif_exp.hpp"

using namespace spikeem;
using namespace spikeem::test;

namespace {

PopulationSpec lif_exp(const std::string& name, std::uint32_t size, LifExpParams p) {
    return PopulationSpec{name, size, p};
}

// The first s in [0, s_max] with f(s) >= 0 by a scan in steps of ds and bisection
// to 1e-13 ms inside the first step that ends >= 0; -1 if none.  Also the largest
// sampled f (for states without a crossing).
struct Scan {
    double s = -1.0, max_f = -INFINITY;
};
Scan scan_crossing(const ExpCrossing& ec, double c0, double a, double e, double i, double s_max, double ds) {
    Scan out;
    double prev = 0.0;
    for (double s = ds; s <= s_max; s += ds) {
        const double f = ec.value(c0, a, e, i, s);
        out.max_f = std::max(out.max_f, f);
        if (f >= 0.0) {
            double lo = prev, hi = s;
            while (hi - lo > 1e-13) {
                const double mid = 0.5 * (lo + hi);
                (ec.value(c0, a, e, i, mid) >= 0.0 ? hi : lo) = mid;
            }
            out.s = hi;
            return out;
        }
        prev = s;
    }
    return out;
}

// Time constants of a test state (ms).
struct Taus {
    double m, e, i;
};

}  // namespace

TEST_CASE("lif_exp crossing predictor agrees with scan and bisection to 1e-9 ms on random states") {
    // Three sets of time constants: integer ratios (the polynomial fast path, CUBA's
    // 20/5/10), non-integer ratios, and synaptic time constants longer than tau_m.
    const Taus sets[] = {{20.0, 5.0, 10.0}, {17.0, 3.3, 7.9}, {10.0, 25.0, 3.0}};
    std::mt19937_64 rng(20261128);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    for (const Taus& tau : sets) {
        const ExpCrossing ec(tau.m, tau.e, tau.i);
        const double s_max = 12.0 * std::max({tau.m, tau.e, tau.i});
        int crossings = 0, none = 0, checked = 0;
        double worst = 0.0;
        while (checked < 400) {
            // Coefficients of f(s) = c0 + a e^{-s/tau_m} + e e^{-s/tau_e} + i e^{-s/tau_i} (mV),
            // any signs; f(0) < 0 as the predictor requires.
            const double c0 = 2.0 * u(rng), e = 10.0 * u(rng), i = 10.0 * u(rng);
            const double f0 = -0.01 - 6.0 * std::abs(u(rng));
            const double a = f0 - c0 - e - i;
            const ExpCrossing::Result r = ec.first_crossing(c0, a, e, i);
            const Scan ref = scan_crossing(ec, c0, a, e, i, s_max, 0.01);
            ++checked;
            if (ref.s >= 0.0) {
                ++crossings;
                REQUIRE(r.x > 0.0);
                const double s = -tau.m * std::log(r.x);
                worst = std::max(worst, std::abs(s - ref.s));
                CHECK(std::abs(s - ref.s) <= 1e-9);
            } else {
                // No crossing within 12 tau: none found before that either, and the
                // returned sup bounds every sample (up to rounding).
                ++none;
                if (r.x > 0.0) CHECK(-tau.m * std::log(r.x) > s_max);
                else CHECK(r.sup >= ref.max_f - 1e-12);
            }
        }
        MESSAGE("taus ", tau.m, "/", tau.e, "/", tau.i, ": ", crossings, " crossings, ", none,
                " without; worst difference ", worst, " ms");
        CHECK(crossings > 100);
        CHECK(none > 20);
    }
}

TEST_CASE("lif_exp early crossing is never after the first crossing and equals it when the dropped term is 0") {
    // early_crossing bounds f by a quadratic when one ratio is 2 and the other term is
    // <= 0.  Time constants: CUBA (ratios 4 and 2, drops e), ratios 2 and 5 the other
    // way round (drops i), and non-integer ratios (no quadratic: first_crossing itself).
    const Taus sets[] = {{20.0, 5.0, 10.0}, {20.0, 10.0, 4.0}, {17.0, 3.3, 7.9}};
    std::mt19937_64 rng(20261129);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    for (const Taus& tau : sets) {
        const ExpCrossing ec(tau.m, tau.e, tau.i);
        const bool drops_e = ec.integer_ri() == 2 && ec.integer_re() != 2;
        const bool drops_i = ec.integer_re() == 2 && ec.integer_ri() != 2;
        int bounded = 0, exact = 0;
        for (int n = 0; n < 4000; ++n) {
            // The term to drop: exactly 0 (then q is f itself), < 0, or of either sign (> 0:
            // no bound, first_crossing's answer).
            double c0 = 2.0 * u(rng), e = 10.0 * u(rng), i = 10.0 * u(rng);
            double& dropped = drops_e ? e : i;
            if (n % 3 == 0) dropped = 0.0;
            if (n % 3 == 1) dropped = -std::abs(dropped);
            const double a = -0.01 - 6.0 * std::abs(u(rng)) - c0 - e - i;
            const ExpCrossing::Result first = ec.first_crossing(c0, a, e, i);
            const ExpCrossing::Result early = ec.early_crossing(c0, a, e, i);
            if (early.x <= 0.0) {  // no root of the bound within the horizon: none of f either
                CHECK(first.x == 0.0);
                continue;
            }
            const double s_early = -tau.m * std::log(early.x);
            // f < 0 before the early crossing (sampled), which is no later than the first.
            for (int k = 0; k < 50; ++k) CHECK(ec.value(c0, a, e, i, s_early * k / 50.0) < 0.0);
            if (first.x > 0.0) {
                const double s_first = -tau.m * std::log(first.x);
                CHECK(s_early <= s_first + 1e-12);
                if (dropped == 0.0 && (drops_e || drops_i)) {
                    ++exact;
                    CHECK(s_early == doctest::Approx(s_first).epsilon(1e-9));
                }
                if (dropped > 0.0) CHECK(early.x == first.x);
                if ((drops_e || drops_i) && early.x != first.x) ++bounded;
            }
        }
        MESSAGE("taus ", tau.m, "/", tau.e, "/", tau.i, ": ", bounded, " by the quadratic, ", exact,
                " of them with the dropped term 0");
        if (drops_e || drops_i) {
            CHECK(bounded > 1000);
            CHECK(exact > 300);
        }
    }
}

TEST_CASE("lif_exp early crossing with a strong fast term: tangent quadratics stay above f") {
    // States where dropping the fast term d x^n (d < 0) would leave a bound that is
    // already >= 0 now (c0 + a + k >= 0): early_crossing then bounds d x^n by its
    // tangents.  Its time must never be after the first crossing, and f must stay
    // below 0 up to it (sampled densely); it should mostly be a root of a tangent
    // quadratic, not first_crossing's answer.  CUBA's ratios (4 dropped, 2 kept) and
    // the other way round (5 dropped, 2 kept).
    const Taus sets[] = {{20.0, 5.0, 10.0}, {20.0, 10.0, 4.0}};
    std::mt19937_64 rng(20261202);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    for (const Taus& tau : sets) {
        const ExpCrossing ec(tau.m, tau.e, tau.i);
        const bool drops_e = ec.integer_ri() == 2;
        int tangent = 0, states = 0, crossing = 0;
        double closest = INFINITY;  // smallest s_first - s_early (ms)
        for (int n = 0; n < 4000; ++n) {
            const double c0 = 3.0 * u(rng), kept = 10.0 * u(rng);  // c0 < 0: may never cross
            const double f0 = -0.001 - 3.0 * std::abs(u(rng));
            // d < -f0 at least: c0 + a + kept = f0 - d >= 0.
            const double d = f0 - 0.01 - 8.0 * std::abs(u(rng));
            const double e = drops_e ? d : kept, i = drops_e ? kept : d;
            const double a = f0 - c0 - e - i;
            REQUIRE(c0 + a + kept >= 0.0);
            ++states;
            const ExpCrossing::Result first = ec.first_crossing(c0, a, e, i);
            const ExpCrossing::Result early = ec.early_crossing(c0, a, e, i);
            if (early.x <= 0.0) {
                CHECK(first.x == 0.0);
                continue;
            }
            const double s_early = -tau.m * std::log(early.x);
            for (int k = 0; k <= 200; ++k) CHECK(ec.value(c0, a, e, i, s_early * k / 200.0) < 0.0);
            if (first.x > 0.0) {
                const double s_first = -tau.m * std::log(first.x);
                CHECK(s_early <= s_first + 1e-12);
                closest = std::min(closest, s_first - s_early);
                ++crossing;
                if (early.x != first.x) ++tangent;
            }
        }
        MESSAGE("taus ", tau.m, "/", tau.e, "/", tau.i, ": ", crossing, " of ", states, " cross, ", tangent,
                " of them bounded by a tangent quadratic; closest to the crossing ", closest, " ms");
        CHECK(crossing < states);
        CHECK(tangent > crossing / 2);
    }
}

TEST_CASE("lif_exp margins: chord_bound and rise_bound are never below V on random states") {
    // The window sweep keeps threshold minus these bounds as a neuron's margin, so a
    // bound below the largest V of its interval would miss a crossing.  Random
    // coefficients of both signs, time constants and interval lengths up to twice the
    // shortest time constant; V sampled at 4001 points of the interval (and up to 20
    // tau_m for rise_bound).  Among the states are concave ones whose maximum lies
    // inside the interval, above both ends: a bound from the end values and an upper
    // bound of V'' misses those, and the count makes sure the test has them.
    std::mt19937_64 rng(20261205);
    std::uniform_real_distribution<double> coef(-20.0, 20.0), tau(1.0, 40.0), frac(0.01, 2.0);
    int inside = 0;
    double worst_slack = 0.0;  // largest bound - max of the states with an interior maximum, over |a| + |e| + |i|
    for (int n = 0; n < 20000; ++n) {
        const double tm = tau(rng), te = tau(rng), ti = tau(rng);
        if (std::abs(te - tm) < 0.1 || std::abs(ti - tm) < 0.1) continue;
        const double a = coef(rng), e = coef(rng), i = coef(rng);
        const double h = frac(rng) * std::min({tm, te, ti});
        const ChordFactors f{std::exp(-h / tm), std::exp(-h / te), std::exp(-h / ti), 1.0 / (tm * tm),
                             1.0 / (te * te),  1.0 / (ti * ti),  0.125 * h * h};
        auto g = [&](double s) { return a * std::exp(-s / tm) + e * std::exp(-s / te) + i * std::exp(-s / ti); };
        double mx = -INFINITY;
        for (int k = 0; k <= 4000; ++k) mx = std::max(mx, g(h * k / 4000.0));
        const double bound = chord_bound(f, a, e, i), scale = std::abs(a) + std::abs(e) + std::abs(i);
        CHECK(bound >= mx - 1e-12 * scale);
        if (mx > std::max(g(0.0), g(h)) + 1e-9 * scale) {
            ++inside;
            worst_slack = std::max(worst_slack, (bound - mx) / scale);
        }
        double forever = -INFINITY;
        for (int k = 0; k <= 4000; ++k) forever = std::max(forever, g(20.0 * tm * k / 4000.0));
        CHECK(rise_bound(a, e, i) >= forever - 1e-12 * scale);
    }
    MESSAGE(inside, " states with a maximum inside their interval; largest slack of the bound there ", worst_slack,
            " of |a| + |e| + |i|");
    CHECK(inside > 300);
}

TEST_CASE("neg_log_below is never above -ln x and close to it") {
    // Lazy event times use it in place of -ln x: it must not exceed it (or an event
    // could come after the level it guards), and should be close (or events come early).
    std::mt19937_64 rng(20261203);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    double worst = 0.0;        // largest relative shortfall for x >= 1/4
    double worst_small = 0.0;  // and below (range-reduced)
    for (int n = 0; n < 1000000; ++n) {
        // Uniform in x, uniform in log x down to 1e-100, and points next to 1 and 1/4.
        double x = n % 3 == 0 ? u(rng) : n % 3 == 1 ? std::exp(-230.0 * u(rng)) : 0.25 + 1e-6 * u(rng);
        if (n % 1000 == 0) x = std::nextafter(1.0, 0.0);
        if (!(x > 0.0)) continue;
        const double nl = neg_log_below(x), exact = -std::log(x);
        CHECK(nl <= exact);
        CHECK(nl >= 0.0);
        if (x >= 0.25 && exact > 0.0) worst = std::max(worst, 1.0 - nl / exact);
        if (x < 0.25) worst_small = std::max(worst_small, 1.0 - nl / exact);
    }
    // Either side of every power of two below 1/4 (where the split's exponent steps).
    for (int k = -3; k >= -332; --k) {
        for (double x : {std::ldexp(1.0, k), std::nextafter(std::ldexp(1.0, k), 0.0),
                         std::nextafter(std::ldexp(1.0, k), 1.0), std::ldexp(1.999999, k)}) {
            const double nl = neg_log_below(x), exact = -std::log(x);
            CHECK(nl <= exact);
            worst_small = std::max(worst_small, 1.0 - nl / exact);
        }
    }
    CHECK(neg_log_below(1.0) == 0.0);
    MESSAGE("largest relative shortfall for x >= 1/4: ", worst, ", below: ", worst_small);
    CHECK(worst < 1e-3);
    CHECK(worst_small < 1e-5);
}

TEST_CASE("lif_exp membrane and currents match an RK4 integration to 1e-9 mV") {
    NetworkSpec s;
    s.run.duration_ms = 80.0;
    LifExpParams p{20.0, 5.0, 10.0, -65.0, -70.0, -40.0, 2.0, -62.0};
    // Excitatory and inhibitory inputs (two at the same time), arrival times on the
    // RK4 grid: spike + 0.5 ms delay = 5.5, 5.5, 12.0, 30.25 (E) and 20.0, 31.0 (I).
    s.populations = {lif_exp("n", 1, p), spike_times("exc", {{5.0, 5.0, 11.5, 29.75}}), spike_times("inh", {{19.5, 30.5}})};
    s.projections = {connect("exc", "n", AllToAll{}, 4.0, 0.5), connect("inh", "n", AllToAll{}, -7.0, 0.5)};
    s.record.voltages = {VoltageProbeSpec{"n", {}, 0.25}};
    s.record.spike_populations = {"n"};
    Simulation sim(s);
    sim.run();
    REQUIRE(spike_ticks(sim, 0, 0).empty());  // threshold out of reach: pure closed form

    // RK4 of tau_m V' = -(V - v_rest) + ge + gi, ge' = -ge/tau_e, gi' = -gi/tau_i, h = 1e-3 ms.
    struct Y {
        double v, ge, gi;
    };
    auto deriv = [&](const Y& y) {
        return Y{(-(y.v - p.v_rest_mV) + y.ge + y.gi) / p.tau_m_ms, -y.ge / p.tau_e_ms, -y.gi / p.tau_i_ms};
    };
    auto axpy = [](const Y& y, double h, const Y& k) { return Y{y.v + h * k.v, y.ge + h * k.ge, y.gi + h * k.gi}; };
    const std::map<long, double> inputs = {{5500, 8.0}, {12000, 4.0}, {30250, 4.0}, {20000, -7.0}, {31000, -7.0}};
    const double h = 1e-3;
    Y y{-62.0, 0.0, 0.0};
    std::vector<double> ref_v;  // at every 0.25 ms, after the inputs of that time
    for (long step = 0; step <= 80000; ++step) {
        if (auto it = inputs.find(step); it != inputs.end()) (it->second > 0 ? y.ge : y.gi) += it->second;
        if (step % 250 == 0) ref_v.push_back(y.v);
        const Y k1 = deriv(y), k2 = deriv(axpy(y, h / 2, k1)), k3 = deriv(axpy(y, h / 2, k2)), k4 = deriv(axpy(y, h, k3));
        y = Y{y.v + h / 6 * (k1.v + 2 * k2.v + 2 * k3.v + k4.v), y.ge + h / 6 * (k1.ge + 2 * k2.ge + 2 * k3.ge + k4.ge),
              y.gi + h / 6 * (k1.gi + 2 * k2.gi + 2 * k3.gi + k4.gi)};
    }
    REQUIRE(sim.voltages().size() == 320);
    double worst = 0.0;
    for (std::size_t k = 0; k < sim.voltages().size(); ++k)
        worst = std::max(worst, std::abs(sim.voltages()[k].v_mV - ref_v[k]));
    MESSAGE("largest |V - V_rk4| = ", worst, " mV");
    CHECK(worst < 1e-9);
    // The currents at the end: ge = 4 e^{-(80 - 30.25)/5} (the earlier ones have decayed with it).
    const auto& pop = dynamic_cast<const LifExpPopulation&>(sim.population(0));
    const Tick end = sim.time().round(80.0);
    double ge = 0.0, gi = 0.0;
    for (const auto& [tick, w] : inputs)
        (w > 0 ? ge : gi) += w * std::exp(-(80.0 - tick * 1e-3) / (w > 0 ? p.tau_e_ms : p.tau_i_ms));
    CHECK(pop.g_e_mV(0, end) == doctest::Approx(ge).epsilon(1e-12));
    CHECK(pop.g_i_mV(0, end) == doctest::Approx(gi).epsilon(1e-12));
}

TEST_CASE("lif_exp network spikes match a brute-force RK4 integration spike for spike") {
    // 40 neurons (32 E, 8 I) with E_L above threshold, random explicit connections,
    // a Poisson drive, delay 0.5 ms, 300 ms.  The reference integrates every neuron with
    // RK4 in steps of at most 2e-3 ms, splits steps at input arrivals, finds a crossing
    // inside a step by bisection (to 1e-12 ms) on RK4 from the step start, rounds it up
    // to the 1 ns tick as spikeem does, resets and holds V for t_ref while the currents
    // go on.  The network is chaotic, so it is kept short: spikes must match one to
    // one, each within 2 ticks (RK4's error in a crossing time is about 1e-10 ms, so a
    // tick can flip only when a crossing falls that close to a tick boundary).
    const std::uint32_t ne = 32, ni = 8, n = ne + ni, nd = 40;
    const double delay = 0.5, w_e = 1.8, w_i = -7.0, w_d = 2.5;
    LifExpParams p{20.0, 5.0, 10.0, -49.0, -60.0, -50.0, 5.0, UniformDist{-60.0, -50.0}};
    NetworkSpec s;
    s.run.duration_ms = 300.0;
    s.run.seed = 7;
    s.populations = {lif_exp("P", n, p), poisson("drive", nd, 150.0)};
    const auto [from_e, from_i] = random_ei_pairs(n, ne, 0.15, 99);
    ProjectionSpec pe = connect("P", "P", from_e, w_e, delay), pi = connect("P", "P", from_i, w_i, delay);
    pe.name = std::string("from E");  // (a temporary: gcc 12 warns falsely about assigning a literal)
    pi.name = std::string("from I");
    s.projections = {pe, pi, connect("drive", "P", OneToOne{}, w_d, delay)};
    s.record.spike_populations = {"P", "drive"};
    s.record.voltages = {VoltageProbeSpec{"P", {}, 1000.0}};  // one sample, at t = 0: the initial V
    Simulation sim(s);
    sim.run();

    // ---- the reference, in ticks of 1 ns
    const Tick tick_delay = 500000, t_ref = 5000000, end = 300000000, max_step = 2000;
    std::vector<std::vector<std::pair<std::uint32_t, double>>> out(n);
    for (const auto& pr : from_e.pairs) out[pr.pre].push_back({pr.post, w_e});
    for (const auto& pr : from_i.pairs) out[pr.pre].push_back({pr.post, w_i});
    std::map<Tick, std::vector<std::pair<std::uint32_t, double>>> arrivals;
    for (const auto& sp : sim.sorted_spikes())
        if (sp.population == 1) arrivals[sp.t + tick_delay].push_back({sp.neuron, w_d});
    struct N {
        double v, ge, gi;
        Tick clamp;  // V held at v_reset before this tick
    };
    std::vector<N> st(n);
    REQUIRE(sim.voltages().size() == n);
    for (std::uint32_t k = 0; k < n; ++k) st[k] = N{sim.voltages()[k].v_mV, 0.0, 0.0, -1};
    auto rk4 = [&](const N& y, double h) {
        auto d = [&](double v, double ge, double gi) { return (-(v - p.v_rest_mV) + ge + gi) / p.tau_m_ms; };
        auto g_at = [&](double t) { return std::pair{y.ge * std::exp(-t / p.tau_e_ms), y.gi * std::exp(-t / p.tau_i_ms)}; };
        auto [ge0, gi0] = g_at(0.0);
        auto [geh, gih] = g_at(h / 2);
        auto [ge1, gi1] = g_at(h);
        const double k1 = d(y.v, ge0, gi0), k2 = d(y.v + h / 2 * k1, geh, gih), k3 = d(y.v + h / 2 * k2, geh, gih),
                     k4 = d(y.v + h * k3, ge1, gi1);
        return N{y.v + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4), ge1, gi1, y.clamp};
    };
    auto decay_g = [&](N& y, Tick dt) {
        y.ge *= std::exp(-dt * 1e-6 / p.tau_e_ms);
        y.gi *= std::exp(-dt * 1e-6 / p.tau_i_ms);
    };
    std::vector<std::pair<Tick, std::uint32_t>> ref;
    Tick t = 0;
    while (t < end) {
        if (auto it = arrivals.find(t); it != arrivals.end()) {
            for (auto [post, w] : it->second) (w > 0 ? st[post].ge : st[post].gi) += w;
            arrivals.erase(it);
        }
        Tick next = std::min(t + max_step, end);
        if (!arrivals.empty()) next = std::min(next, arrivals.begin()->first);
        for (std::uint32_t k = 0; k < n; ++k) {
            N& y = st[k];
            Tick at = t;
            if (y.clamp > at) {  // refractory: only the currents move
                const Tick until = std::min(y.clamp, next);
                decay_g(y, until - at);
                if (until == y.clamp) y.v = p.v_reset_mV;
                at = until;
            }
            if (at == next) continue;
            const N after = rk4(y, (next - at) * 1e-6);
            if (after.v < p.v_th_mV) {
                y = after;
                continue;
            }
            double lo = 0.0, hi = (next - at) * 1e-6;
            while (hi - lo > 1e-12) {
                const double mid = 0.5 * (lo + hi);
                (rk4(y, mid).v >= p.v_th_mV ? hi : lo) = mid;
            }
            const Tick spike_at = at + static_cast<Tick>(std::ceil(hi * 1e6));
            ref.push_back({spike_at, k});
            for (auto [post, w] : out[k]) arrivals[spike_at + tick_delay].push_back({post, w});
            decay_g(y, spike_at - at);
            y.v = p.v_reset_mV;
            y.clamp = spike_at + t_ref;
            decay_g(y, next - spike_at);  // t_ref > max_step: still refractory at next
        }
        t = next;
    }
    std::sort(ref.begin(), ref.end());

    CHECK(largest_spike_difference(sim, ref) <= 2);
}

TEST_CASE("lif_exp specs: parameters load and bad ones are named with field value rule and unit") {
    auto error_of = [](const std::string& text) -> std::string {
        try {
            (void)io::load_spec_text(text, "t.pbtxt");
        } catch (const io::SpecError& e) {
            return e.what();
        }
        return "<no error>";
    };
    const std::string good = R"pb(population {
  name: "N" size: 3
  lif_exp { tau_m_ms: 20 tau_e_ms: 5 tau_i_ms: 10 v_rest_mV: -49 v_th_mV: -50 v_reset_mV: -60 t_ref_ms: 5
            v_init_mV { uniform { low: -60 high: -50 } } }
})pb";
    const io::LoadedSpec ok = io::load_spec_text(good, "t.pbtxt");
    const auto& lp = std::get<LifExpParams>(ok.spec.populations[0].model);
    CHECK(lp.tau_m_ms == 20.0);
    CHECK(lp.tau_e_ms == 5.0);
    CHECK(lp.tau_i_ms == 10.0);
    CHECK(lp.v_rest_mV == -49.0);
    CHECK(lp.v_th_mV == -50.0);
    CHECK(lp.v_reset_mV == -60.0);
    CHECK(lp.t_ref_ms == 5.0);

    CHECK(error_of(R"pb(population { name: "N" size: 1 lif_exp { tau_m_ms: 20 tau_e_ms: 20 } })pb") ==
          "t.pbtxt:1:55: population \"N\".lif_exp.tau_e_ms = 20: must differ from tau_m_ms = 20 by at least 0.1 % "
          "(the exact solution divides by the difference) (ms)");
    CHECK(error_of(R"pb(population { name: "N" size: 1 lif_exp { tau_i_ms: -3 } })pb") ==
          "t.pbtxt:1:42: population \"N\".lif_exp.tau_i_ms = -3: must be > 0 (ms)");
    // Several problems at once, one line each.
    CHECK(error_of(R"pb(population { name: "N" size: 1 lif_exp { v_th_mV: -60 v_reset_mV: -55 t_ref_ms: -1 } })pb") ==
          "t.pbtxt:1:71: population \"N\".lif_exp.t_ref_ms = -1: must be >= 0 (ms)\n"
          "t.pbtxt:1:55: population \"N\".lif_exp.v_reset_mV = -55: must be < v_th_mV = -60 (mV)");
    CHECK(error_of(R"pb(population { name: "N" size: 1 lif_exp { v_init_mV { constant: -50 } } })pb") ==
          "t.pbtxt:1:42: population \"N\".lif_exp.v_init_mV: every initial value must be below v_th_mV = -55 (mV); "
          "it allows -50");

    // The benchmark spec loads and runs (100 ms: activity starts and stays irregular).
    io::SpecOverrides shorter;
    shorter.duration_ms = 100.0;
    const io::LoadedSpec cuba =
        io::load_spec_file(std::string(SPIKEEM_SOURCE_DIR) + "/examples/benchmarks/cuba_exp.pbtxt", shorter);
    Simulation sim(cuba.spec);
    sim.run();
    CHECK(sim.population(0).model() == std::string("lif_exp"));
    const PopulationSummary e = sim.summary(0);
    CHECK(e.mean_rate_hz > 1.0);
    CHECK(e.mean_rate_hz < 50.0);
}

TEST_CASE("lif_exp read-outs for plasticity: drift is dV/dt and psp_mV is one input's share of V") {
    // Subthreshold (v_th far above): V is linear in the inputs, so one input's
    // PSP is V with it minus V without it, from two runs that differ only in
    // that input.  Excitatory (g_e, tau_e 5 ms) and inhibitory (g_i, tau_i 10 ms)
    // probes; PSPs read 0.1 to 80 ms after arrival.  The drift is compared with
    // a central difference of V (step 1e-3 ms, error ~1e-7 mV/ms).
    LifExpParams p;
    p.tau_m_ms = 20.0;
    p.v_rest_mV = -70.0;
    p.v_th_mV = 0.0;
    p.v_reset_mV = -80.0;
    p.v_init_mV = -65.0;
    const std::vector<double> background = {1.0, 3.5, 4.0, 9.25, 12.0};
    for (const double w_probe : {2.5, -1.75}) {
        CAPTURE(w_probe);
        const double t_probe_ms = 6.0;  // emission; arrival 1 ms later
        auto run = [&](bool with_probe) {
            NetworkSpec s;
            s.run.duration_ms = 15.0;
            s.populations = {PopulationSpec{"n", 1, p}, spike_times("bg", {background}),
                             spike_times("probe", {with_probe ? std::vector<double>{t_probe_ms} : std::vector<double>{}})};
            s.projections = {connect("bg", "n", AllToAll{}, 1.2, 1.0), connect("probe", "n", AllToAll{}, w_probe, 1.0)};
            return std::make_unique<Simulation>(s);
        };
        const auto with = run(true), without = run(false);
        const Population& a = with->population(0);
        const Population& b = without->population(0);
        const TimeBase& tb = with->time();
        const Tick arrival = tb.round(t_probe_ms + 1.0);
        double worst_psp = 0.0, worst_drift = 0.0;
        for (double dt_ms : {0.1, 0.5, 2.0, 5.0, 9.0, 15.0, 30.0, 80.0}) {
            const Tick t = arrival + tb.round(dt_ms);
            with->run_until(t);  // both stored states are then at their last event before t
            without->run_until(t);
            const double diff = a.voltage_mV(0, t) - b.voltage_mV(0, t);
            worst_psp = std::max(worst_psp, std::abs(a.psp_mV(0, w_probe, arrival, t) - diff));
            const Tick h = tb.round(1e-3);
            const double numeric = (a.voltage_mV(0, t + h) - a.voltage_mV(0, t - h)) / (2e-3);
            worst_drift = std::max(worst_drift, std::abs(a.drift_mV_per_ms(0, t) - numeric));
            CHECK(std::abs(diff) > 1e-3);  // the probe's PSP is there to be seen
        }
        CHECK(worst_psp < 1e-9);
        CHECK(worst_drift < 1e-6);
    }
}
