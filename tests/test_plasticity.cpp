// STDP (pair and triplet rules, every pairing scheme and weight dependence)
// against a naive all-pairs reference written out here, plus exact single-pair
// windows and the weight recorder.
//
// Times at the synapse: a pre spike reaches it after its axonal delay, a post
// spike after the projection's dendritic delay.  At equal synapse times pre
// arrivals come first (so dt = 0 potentiates), hard bounds clip after every
// update.  The reference never uses traces: every sum is recomputed from the
// full spike history of the synapse.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "helpers.hpp"
#include "plasticity/plastic_synapses.hpp"
#include "plasticity/rules.hpp"

using namespace spikeem;
using namespace spikeem::test;

namespace {

// Agreement between the simulator (closed-form decayed traces) and the
// all-pairs reference: both are sums of the same exponentials, rounded
// differently, so they agree to a few ulps of the O(1) weights.
constexpr double kTol = 1e-12;

double expo(Tick dt, double tau_ms) { return std::exp(-static_cast<double>(dt) * kMsPerTick / tau_ms); }

struct RefResult {
    double w = 0.0;
    int clips = 0;  // updates that the hard bounds changed
};

// Naive O(N_pre * N_post) reference for one synapse.  pre / post: arrival ticks
// at the synapse, ascending, distinct within each list.
RefResult reference(const std::vector<Tick>& pre, const std::vector<Tick>& post, const PlasticitySpec& ps, double w0) {
    const double wmin = ps.w_min_mV, wmax = ps.w_max_mV;
    const double mup = ps.dependence.mu_plus, mum = ps.dependence.mu_minus;
    // u = (w - w_min)/(w_max - w_min); 1 - u written as (w_max - w)/(w_max - w_min).
    auto f_plus = [&](double w) { return mup == 0.0 ? 1.0 : std::pow(std::max(0.0, (wmax - w) / (wmax - wmin)), mup); };
    auto f_minus = [&](double w) {
        return mum == 0.0 ? 1.0 : std::pow(std::max(0.0, (w - wmin) / (wmax - wmin)), mum);
    };
    RefResult r{w0, 0};
    auto apply = [&](double dw) {
        if (dw == 0.0) return;
        const double raw = r.w + dw;
        const double c = std::clamp(raw, wmin, wmax);
        if (c != raw) ++r.clips;
        r.w = c;
    };

    struct Ev {
        Tick t;
        int kind;  // 0 pre, 1 post: pre first at equal times
    };
    std::vector<Ev> ev;
    for (Tick a : pre) ev.push_back({a, 0});
    for (Tick b : post) ev.push_back({b, 1});
    std::stable_sort(ev.begin(), ev.end(),
                     [](const Ev& x, const Ev& y) { return x.t != y.t ? x.t < y.t : x.kind < y.kind; });

    // Sum (or, nearest, the latest term only) of exp(-(t - s)/tau) over s in
    // `list` with lo < s < t (strict) or lo < s <= t (inclusive).
    auto sum = [](const std::vector<Tick>& list, Tick t, double tau, bool inclusive, bool nearest,
                  Tick lo = std::numeric_limits<Tick>::min()) {
        double s = 0.0;
        Tick latest = 0;
        bool any = false;
        for (Tick x : list) {
            if (x <= lo || x > t || (!inclusive && x == t)) continue;
            s += expo(t - x, tau);
            if (!any || x > latest) latest = x;
            any = true;
        }
        if (nearest) return any ? expo(t - latest, tau) : 0.0;
        return s;
    };

    if (const auto* p = std::get_if<PairStdpParams>(&ps.rule)) {
        const bool nearest_dep = p->pairing != Pairing::AllToAll;
        for (const Ev& e : ev) {
            if (e.kind == 0) {
                // Depression: posts strictly before a (all of them, or the last one).
                const double s = sum(post, e.t, p->tau_minus_ms, false, nearest_dep);
                apply(-p->a_minus_mV * s * f_minus(r.w));
            } else {
                double s = 0.0;
                if (p->pairing == Pairing::AllToAll) {
                    s = sum(pre, e.t, p->tau_plus_ms, true, false);
                } else if (p->pairing == Pairing::NearestSymmetric) {
                    s = sum(pre, e.t, p->tau_plus_ms, true, true);
                } else {
                    // Presynaptic-centred: the pres since the previous post, b_prev < a <= b.
                    Tick b_prev = std::numeric_limits<Tick>::min();
                    for (Tick b : post)
                        if (b < e.t) b_prev = b;
                    s = sum(pre, e.t, p->tau_plus_ms, true, false, b_prev);
                }
                apply(p->a_plus_mV * s * f_plus(r.w));
            }
        }
    } else {
        const auto& q = std::get<TripletStdpParams>(ps.rule);
        const bool nn = q.nearest_spike;
        for (const Ev& e : ev) {
            if (e.kind == 0) {
                const double o1 = sum(post, e.t, q.tau_minus_ms, false, nn);
                const double r2 = sum(pre, e.t, q.tau_x_ms, false, nn);  // earlier pres only
                apply(-f_minus(r.w) * o1 * (q.a2_minus_mV + q.a3_minus_mV * r2));
            } else {
                const double r1 = sum(pre, e.t, q.tau_plus_ms, true, nn);
                const double o2 = sum(post, e.t, q.tau_y_ms, false, nn);  // earlier posts only
                apply(f_plus(r.w) * r1 * (q.a2_plus_mV + q.a3_plus_mV * o2));
            }
        }
    }
    return r;
}

// ---------------------------------------------------------------- scenarios

// Populations: 0 "pre" (spike times, plastic source), 1 "post" (LIF),
// 2 "driver" (spike times, one per post neuron, strong static synapse).
// Projection 0 is the plastic one.
struct Scenario {
    std::string name;
    std::vector<std::vector<double>> pre_ms;
    std::vector<std::vector<double>> post_ms;  // intended post spike times (soma)
    Connectivity conn = AllToAll{};
    Distribution delay_ms = 1.0;
    double dendritic_ms = 0.0;
    Distribution w0 = UniformDist{0.2, 0.8};
    double duration_ms = 100.0;
    bool uniform_delays = false;  // delays drawn from UniformDist: check they differ
};

constexpr double kDriverDelay = 1.0;
const LifDeltaParams kPostLif{10.0, -70.0, -70.0, -55.0, 2.0, -70.0};

NetworkSpec build(const Scenario& sc, const PlasticitySpec& ps) {
    NetworkSpec s;
    s.run.duration_ms = sc.duration_ms;
    s.run.seed = 7;
    std::vector<std::vector<double>> driver = sc.post_ms;
    for (auto& train : driver)
        for (double& t : train) t -= kDriverDelay;
    const auto n_post = static_cast<std::uint32_t>(sc.post_ms.size());
    s.populations = {spike_times("pre", sc.pre_ms), lif("post", n_post, kPostLif), spike_times("driver", driver)};
    ProjectionSpec plastic = connect("pre", "post", sc.conn, sc.w0, sc.delay_ms);
    plastic.dendritic_delay_ms = sc.dendritic_ms;
    plastic.plasticity = ps;
    s.projections = {plastic, connect("driver", "post", OneToOne{}, 50.0, kDriverDelay)};
    s.record.spike_populations = {"pre", "post"};
    return s;
}

// Random trains from a fixed-seed generator: exponential intervals with a
// floor (post trains need more than t_ref between spikes), rounded to `grid` ms.
std::vector<std::vector<double>> random_trains(std::mt19937_64& rng, int n, double rate_hz, double min_isi_ms,
                                               double start_ms, double stop_ms, double grid_ms) {
    std::exponential_distribution<double> isi(rate_hz / 1000.0);
    std::vector<std::vector<double>> out(n);
    for (auto& train : out) {
        double t = start_ms;
        while (true) {
            t += min_isi_ms + isi(rng);
            double tg = std::round(t / grid_ms) * grid_ms;
            if (tg >= stop_ms) break;
            if (!train.empty() && tg - train.back() < min_isi_ms) continue;
            train.push_back(tg);
        }
    }
    return out;
}

std::vector<Scenario> scenarios() {
    std::vector<Scenario> out;
    std::mt19937_64 rng(20240611);
    {
        // Random trains, all-to-all, uniform axonal delays, dendritic delay 0.7 ms.
        Scenario sc;
        sc.name = "random uniform delays";
        sc.pre_ms = random_trains(rng, 10, 25.0, 0.2, 0.0, 980.0, 1e-6);
        sc.post_ms = random_trains(rng, 3, 15.0, 3.0, 0.0, 980.0, 1e-6);
        sc.delay_ms = UniformDist{0.5, 4.0};
        sc.dendritic_ms = 0.7;
        sc.duration_ms = 1000.0;
        sc.uniform_delays = true;
        out.push_back(sc);
    }
    {
        // Trains on a 0.5 ms grid with equal delays and no dendritic delay:
        // many pre and post arrivals coincide.
        Scenario sc;
        sc.name = "random grid with ties";
        sc.pre_ms = random_trains(rng, 8, 40.0, 0.5, 0.0, 480.0, 0.5);
        sc.post_ms = random_trains(rng, 3, 40.0, 3.0, 0.0, 480.0, 0.5);
        sc.conn = FixedProbability{0.8};
        sc.delay_ms = 1.0;
        sc.dendritic_ms = 0.0;
        sc.duration_ms = 500.0;
        out.push_back(sc);
    }
    {
        // Hand-made edge cases, dendritic delay 1 ms (post arrival b = post spike + 1).
        // Post 0 spikes 3, 20, 40, 60, 62.5, 80 (b = 4, 21, 41, 61, 63.5, 81): the
        // first post arrival precedes every pre arrival.  Post 1: 10, 25.3, 45, 70.
        Scenario sc;
        sc.name = "edge cases";
        sc.dendritic_ms = 1.0;
        sc.post_ms = {{3.0, 20.0, 40.0, 60.0, 62.5, 80.0}, {10.0, 25.3, 45.0, 70.0}};
        sc.pre_ms = {
            {18.0},                          // E0 -> P0 delay 3: a = 21 = b (pre spike 2 ms before the post spike)
            {30.0, 30.1, 30.2, 30.3, 30.4},  // E1: burst 0.1 ms apart between post arrivals
            {39.0, 61.5},                    // E2 -> P0 delay 2: a = 41 = b and a = 63.5 = b
            {5.0, 5.1},                      // E3: pres after P0's first post, before P1's
            {90.0},                          // E4: every post spike comes before its only pre spike
            {60.0},                          // E5 -> P0 delay 1: pre and post spike at the same tick, a = b = 61
            {68.6, 68.7, 68.8, 68.9, 69.0},  // E6 -> P1 delay 2: burst whose last arrival is at b = 71
        };
        const double d[7][2] = {{3.0, 1.0}, {1.0, 2.0}, {2.0, 0.5}, {1.0, 1.0}, {1.5, 1.5}, {1.0, 0.3}, {0.7, 2.0}};
        ExplicitPairs pairs;
        for (std::uint32_t i = 0; i < 7; ++i)
            for (std::uint32_t j = 0; j < 2; ++j) pairs.pairs.push_back({i, j, std::nullopt, d[i][j]});
        sc.conn = pairs;
        sc.duration_ms = 100.0;
        out.push_back(sc);
    }
    {
        // Six targets per source at one delay: delay groups of six synapses, so
        // PlasticSynapses keeps one presynaptic state per group (>= 3 synapses
        // per group), which the scenarios above (three targets) never reach.
        Scenario sc;
        sc.name = "shared groups";
        sc.pre_ms = random_trains(rng, 8, 30.0, 0.2, 0.0, 480.0, 1e-6);
        sc.post_ms = random_trains(rng, 6, 20.0, 3.0, 0.0, 480.0, 1e-6);
        sc.delay_ms = 1.5;
        sc.dendritic_ms = 0.4;
        sc.duration_ms = 500.0;
        out.push_back(sc);
    }
    return out;
}

struct Outcome {
    std::size_t synapses = 0;
    std::size_t at_bound = 0;  // final simulated weights exactly at w_min or w_max
    int ref_clips = 0;
    double worst = 0.0;
    double total_change = 0.0;  // sum |w_final - w0|, to see that learning happened
    // Pre and post arrivals at one synapse less than `near` apart on either side
    // of the boundary of two eras (run_and_compare's era arguments): pairs whose trace
    // had to be carried from one era into the next.
    std::size_t straddling = 0;
    double plastic_bytes = 0.0;  // per synapse: about 15 with one presynaptic state per delay group, 27 without
};

// Run a scenario with the given plasticity and compare every synapse with the reference.
Outcome run_and_compare(const Scenario& sc, const PlasticitySpec& ps, Tick era_ticks = 0, Tick near = 0) {
    const NetworkSpec spec = build(sc, ps);
    Simulation sim(spec);
    const TimeBase& tb = sim.time();
    const std::vector<WeightSample> w_init = sim.weights_now(0);
    sim.run();
    const std::vector<WeightSample> w_end = sim.weights_now(0);
    Outcome o;
    o.plastic_bytes = static_cast<double>(sim.projection(0).plasticity_bytes()) / sim.projection(0).num_synapses();

    const auto n_pre = static_cast<std::uint32_t>(sc.pre_ms.size());
    const auto n_post = static_cast<std::uint32_t>(sc.post_ms.size());
    std::vector<std::vector<Tick>> pre_spikes(n_pre), post_spikes(n_post);
    for (const auto& s : sim.sorted_spikes())
        (s.population == 0 ? pre_spikes[s.neuron] : post_spikes[s.neuron]).push_back(s.t);

    // The sources fire as given; the drivers make the post neurons fire when intended.
    for (std::uint32_t i = 0; i < n_pre; ++i) CHECK(pre_spikes[i].size() == sc.pre_ms[i].size());
    for (std::uint32_t j = 0; j < n_post; ++j) {
        std::vector<Tick> intended;
        for (double t : sc.post_ms[j]) intended.push_back(tb.round(t));
        CHECK(post_spikes[j] == intended);
    }

    const Tick d_den = tb.round(sc.dendritic_ms);
    const Tick end = sim.duration_ticks();
    // Synapse times a = t_pre + d_ax, b = t_post + d_den; the engine hands both
    // over d_den later, so only those with time + d_den < end happened.
    std::vector<std::vector<Tick>> b_of(n_post);
    for (std::uint32_t j = 0; j < n_post; ++j)
        for (Tick t : post_spikes[j])
            if (t + 2 * d_den < end) b_of[j].push_back(t + d_den);

    const Projection& pj = sim.projection(0);
    REQUIRE(pj.dendritic_delay() == d_den);
    REQUIRE(w_end.size() == pj.num_synapses());
    REQUIRE(w_init.size() == w_end.size());
    o.synapses = w_end.size();
    std::set<Tick> distinct_delays;
    std::size_t k = 0;
    for (std::uint32_t s = 0; s < n_pre; ++s) {
        for (std::uint32_t g = pj.group_begin(s); g < pj.group_end(s); ++g) {
            const Tick d_ax = pj.group(g).delay - d_den;
            for (std::uint32_t n = 0; n < pj.group_size(g); ++n, ++k) {
                const std::uint32_t post = w_end[k].post;
                REQUIRE(w_end[k].pre == s);
                REQUIRE(w_init[k].pre == s);
                REQUIRE(w_init[k].post == post);
                if (auto* ep = std::get_if<ExplicitPairs>(&sc.conn)) {
                    // Explicit delays are known independently of the projection.
                    bool found = false;
                    for (const auto& pr : ep->pairs)
                        if (pr.pre == s && pr.post == post) {
                            CHECK(d_ax == tb.round(*pr.delay_ms));
                            found = true;
                        }
                    CHECK(found);
                } else if (auto* ud = std::get_if<UniformDist>(&sc.delay_ms)) {
                    CHECK(d_ax >= tb.round(ud->low));
                    CHECK(d_ax <= tb.round(ud->high));
                } else {
                    CHECK(d_ax == tb.round(std::get<double>(sc.delay_ms)));
                }
                distinct_delays.insert(d_ax);
                std::vector<Tick> a;
                for (Tick t : pre_spikes[s])
                    if (t + d_ax + d_den < end) a.push_back(t + d_ax);
                const RefResult ref = reference(a, b_of[post], ps, w_init[k].w);
                if (era_ticks > 0)
                    for (Tick ta : a)
                        for (Tick tb_ : b_of[post])
                            if (std::abs(ta - tb_) < near && ta / era_ticks != tb_ / era_ticks) ++o.straddling;
                const double diff = std::abs(w_end[k].w - ref.w);
                o.worst = std::max(o.worst, diff);
                if (diff >= kTol) {
                    INFO("synapse " << k << " pre " << s << " post " << post << " sim " << w_end[k].w << " ref "
                                    << ref.w << " w0 " << w_init[k].w);
                    CHECK(diff < kTol);
                }
                o.ref_clips += ref.clips;
                if (w_end[k].w == ps.w_min_mV || w_end[k].w == ps.w_max_mV) ++o.at_bound;
                o.total_change += std::abs(w_end[k].w - w_init[k].w);
            }
        }
    }
    CHECK(k == w_end.size());
    if (sc.uniform_delays) CHECK(distinct_delays.size() >= w_end.size() / 2);
    return o;
}

struct Dep {
    std::string name;
    WeightDependence d;
};
const Dep kDeps[] = {{"additive", {0.0, 0.0}}, {"multiplicative", {1.0, 1.0}}, {"Guetig", {0.5, 0.7}}};

std::string pairing_name(Pairing p) {
    switch (p) {
        case Pairing::AllToAll:
            return "all-to-all";
        case Pairing::NearestSymmetric:
            return "nearest symmetric";
        case Pairing::NearestPresynapticCentred:
            return "presynaptic-centred";
    }
    return "?";
}

}  // namespace

TEST_CASE("Pair STDP equals the all-pairs reference for every pairing scheme and weight dependence") {
    const auto scs = scenarios();
    std::size_t soft_at_bound = 0;
    for (Pairing pairing : {Pairing::AllToAll, Pairing::NearestSymmetric, Pairing::NearestPresynapticCentred}) {
        for (const Scenario& sc : scs) {
            for (const Dep& dep : kDeps) {
                // Moderate amplitudes, and strong ones that drive weights into the bounds.
                for (bool strong : {false, true}) {
                    PlasticitySpec ps;
                    ps.rule = PairStdpParams{strong ? 1.5 : 0.05, strong ? 1.6 : 0.06, 16.8, 33.7, pairing};
                    ps.dependence = dep.d;
                    ps.w_min_mV = 0.0;
                    ps.w_max_mV = 1.0;
                    INFO(pairing_name(pairing)
                         << " / " << sc.name << " / " << dep.name << std::string(strong ? " / strong" : ""));
                    const Outcome o = run_and_compare(sc, ps);
                    CHECK(o.synapses >= 10);
                    // Presynaptic-centred pairing keeps a state per synapse; the other two share it per group.
                    if (sc.name == "shared groups")
                        CHECK((o.plastic_bytes < 20.0) == (pairing != Pairing::NearestPresynapticCentred));
                    CHECK(o.worst < kTol);
                    CHECK(o.total_change > 0.1);
                    if (strong) {
                        // The bounds are hit and matter: a missing clip would show as a difference.
                        CHECK(o.ref_clips > 0);
                        // Soft-bounded weights leave a bound again; additive ones stay there.
                        if (dep.d.mu_plus == 0.0)
                            CHECK(o.at_bound > 0);
                        else
                            soft_at_bound += o.at_bound;
                    }
                }
            }
            // Additive without bounds: weights may go anywhere.
            PlasticitySpec ps;
            ps.rule = PairStdpParams{0.3, 0.35, 16.8, 33.7, pairing};
            ps.w_min_mV = -1e9;
            INFO(pairing_name(pairing) << " / " << sc.name << " / unbounded");
            const Outcome o = run_and_compare(sc, ps);
            CHECK(o.worst < kTol);
            CHECK(o.ref_clips == 0);
            CHECK(o.total_change > 0.1);
        }
    }
    CHECK(soft_at_bound > 0);  // and some soft-bounded weights end at a bound too
}

TEST_CASE("Triplet STDP equals the all-pairs reference for all-to-all and nearest-spike interactions") {
    const auto scs = scenarios();
    std::size_t soft_at_bound = 0;
    for (bool nearest : {false, true}) {
        for (const Scenario& sc : scs) {
            for (const Dep& dep : kDeps) {
                for (bool strong : {false, true}) {
                    PlasticitySpec ps;
                    const double k = strong ? 10.0 : 1.0;
                    ps.rule =
                        TripletStdpParams{0.05 * k, 0.08 * k, 0.07 * k, 0.03 * k, 16.8, 33.7, 101.0, 125.0, nearest};
                    ps.dependence = dep.d;
                    ps.w_min_mV = 0.0;
                    ps.w_max_mV = 1.0;
                    INFO(std::string(nearest ? "nearest" : "all-to-all")
                         << " / " << sc.name << " / " << dep.name << std::string(strong ? " / strong" : ""));
                    const Outcome o = run_and_compare(sc, ps);
                    if (sc.name == "shared groups") CHECK(o.plastic_bytes < 20.0);
                    CHECK(o.worst < kTol);
                    CHECK(o.total_change > 0.1);
                    if (strong) {
                        // The bounds are hit and matter: a missing clip would show as a difference.
                        CHECK(o.ref_clips > 0);
                        // Soft-bounded weights leave a bound again; additive ones stay there.
                        if (dep.d.mu_plus == 0.0)
                            CHECK(o.at_bound > 0);
                        else
                            soft_at_bound += o.at_bound;
                    }
                }
            }
            PlasticitySpec ps;
            ps.rule = TripletStdpParams{0.005, 0.008, 0.007, 0.003, 16.8, 33.7, 101.0, 125.0, nearest};
            ps.w_min_mV = -1e9;
            INFO(std::string(nearest ? "nearest" : "all-to-all") << " / " << sc.name << " / unbounded");
            const Outcome o = run_and_compare(sc, ps);
            CHECK(o.worst < kTol);
            CHECK(o.ref_clips == 0);
            CHECK(o.total_change > 0.01);
        }
    }
    CHECK(soft_at_bound > 0);  // and some soft-bounded weights end at a bound too
}

TEST_CASE("Traces carried over many eras still equal the all-pairs reference") {
    // Traces are stored scaled to the start of an era of 128 shortest time
    // constants (rules.hpp); with time constants of a fraction of a ms the
    // eras last 51.2 ms and the scenarios cross up to 19 of them, so many
    // pairs straddle a boundary and their traces go through ScaledTrace::carry.
    const auto scs = scenarios();
    const TimeBase tb;
    const double tau_min = 0.4;
    const Tick era_ticks = era_length(tau_min, tb);
    CHECK(era_ticks == tb.round(128 * tau_min));
    const Tick near = tb.round(5 * 3.0);  // where the longest trace (3 ms) still counts
    std::size_t straddling = 0;
    for (const Scenario& sc : scs) {
        for (Pairing pairing : {Pairing::AllToAll, Pairing::NearestSymmetric, Pairing::NearestPresynapticCentred}) {
            PlasticitySpec ps;
            ps.rule = PairStdpParams{0.3, 0.35, tau_min, 0.7, pairing};
            ps.w_min_mV = -1e9;
            INFO(pairing_name(pairing) << " / " << sc.name);
            const Outcome o = run_and_compare(sc, ps, era_ticks, near);
            CHECK(o.worst < kTol);
            CHECK(o.total_change > 0.1);
            straddling += o.straddling;
        }
        for (bool nearest : {false, true}) {
            PlasticitySpec ps;
            ps.rule = TripletStdpParams{0.3, 0.2, 0.35, 0.1, tau_min, 0.7, 2.0, 3.0, nearest};
            ps.w_min_mV = -1e9;
            INFO(std::string(nearest ? "triplet nearest" : "triplet all-to-all") << " / " << sc.name);
            const Outcome o = run_and_compare(sc, ps, era_ticks, near);
            CHECK(o.worst < kTol);
            CHECK(o.total_change > 0.1);
        }
    }
    CHECK(straddling >= 20);
}

TEST_CASE("Both group lookups of a postsynaptic spike give the same weights") {
    // One pair-STDP projection with shared per-group presynaptic state, built
    // twice: with the per-synapse group index and with the bucket table.  Random
    // layouts (empty groups, a group per source, groups of one synapse, targets
    // repeated within a group) and a random sequence of arrivals and postsynaptic
    // spikes; the weights must stay equal bit for bit.
    std::mt19937_64 rng(20261204);
    const TimeBase time;
    PlasticitySpec ps;
    ps.rule = PairStdpParams{0.02, 0.021, 16.8, 33.7, Pairing::AllToAll};
    ps.w_min_mV = 0.0;
    ps.w_max_mV = 1.0;
    std::size_t changed = 0, synapses_seen = 0;
    for (int layout = 0; layout < 20; ++layout) {
        const auto n_post = static_cast<std::uint32_t>(5 + rng() % 60);
        const auto n_groups = static_cast<std::size_t>(1 + rng() % 80);
        std::vector<std::uint32_t> group_begin{0}, targets;
        for (std::size_t g = 0; g < n_groups; ++g) {
            // Mostly large groups (the state is shared at >= 3 synapses per group on average).
            const std::size_t size = rng() % 7 == 0 ? rng() % 2 : 3 + rng() % 20;
            for (std::size_t k = 0; k < size; ++k) targets.push_back(static_cast<std::uint32_t>(rng() % n_post));
            group_begin.push_back(static_cast<std::uint32_t>(targets.size()));
        }
        const std::size_t n = targets.size();
        INFO("layout " << layout << ": " << n << " synapses in " << n_groups << " groups onto " << n_post);
        PlasticSynapses<PairStdp> direct(PairStdp(std::get<PairStdpParams>(ps.rule), time), ps, targets.data(), n,
                                         n_post, group_begin.data(), n_groups);
        PlasticSynapses<PairStdp> bucket(PairStdp(std::get<PairStdpParams>(ps.rule), time), ps, targets.data(), n,
                                         n_post, group_begin.data(), n_groups, 0);
        // The per-synapse index (4 B per synapse) takes more room than the table of
        // every 2^s-th synapse's group: so both lookups run whenever the state is shared.
        const bool shared = n >= 3 * n_groups;
        if (shared) CHECK(direct.storage_bytes() > bucket.storage_bytes());
        else CHECK(direct.storage_bytes() == bucket.storage_bytes());
        std::uniform_real_distribution<double> w0(0.2, 0.8);
        std::vector<double> w_direct(n);
        for (double& w : w_direct) w = w0(rng);
        std::vector<double> w_bucket = w_direct;
        const std::vector<double> w_start = w_direct;
        Tick t = 0;
        for (int step = 0; step < 3000; ++step) {
            t += static_cast<Tick>(rng() % 4'000'000);  // 0-4 ms, ties included
            if (rng() % 2 == 0) {
                const auto g = static_cast<std::uint32_t>(rng() % n_groups);
                const std::uint32_t b = group_begin[g], m = group_begin[g + 1] - b;
                direct.on_pre(t, g, b, m, w_direct.data(), targets.data());
                bucket.on_pre(t, g, b, m, w_bucket.data(), targets.data());
            } else {
                const auto post = static_cast<std::uint32_t>(rng() % n_post);
                direct.on_post(t, post, w_direct.data());
                bucket.on_post(t, post, w_bucket.data());
            }
        }
        for (std::size_t k = 0; k < n; ++k) {
            if (w_direct[k] != w_bucket[k]) {
                INFO("synapse " << k << ": " << w_direct[k] << " against " << w_bucket[k]);
                CHECK(w_direct[k] == w_bucket[k]);
            }
            changed += w_direct[k] != w_start[k];
        }
        synapses_seen += n;
    }
    CHECK(changed > synapses_seen / 2);  // learning happened at most synapses
}

TEST_CASE("A single pair changes the weight by exactly the STDP window") {
    // dt = t_post - t_pre at the synapse.  Pre spike at 100 ms, axonal delay
    // 2 ms (a = 102); dendritic delay 0.5 ms, so the post spike is at b - 0.5.
    const double a_plus = 0.1, a_minus = 0.12, tau_plus = 16.8, tau_minus = 33.7;
    const std::vector<double> dts = {1.0, -1.0, 10.0, -10.0, 50.0, -50.0, 0.0};
    for (Pairing pairing : {Pairing::AllToAll, Pairing::NearestSymmetric, Pairing::NearestPresynapticCentred}) {
        INFO(std::string(pairing_name(pairing)));
        NetworkSpec s;
        s.run.duration_ms = 200.0;
        const auto n = static_cast<std::uint32_t>(dts.size());
        std::vector<std::vector<double>> pre(n, std::vector<double>{100.0}), driver;
        for (double dt : dts) driver.push_back({102.0 + dt - 0.5 - kDriverDelay});
        s.populations = {spike_times("pre", pre), lif("post", n, kPostLif), spike_times("driver", driver)};
        ProjectionSpec p = connect("pre", "post", OneToOne{}, 1.0, 2.0);
        p.dendritic_delay_ms = 0.5;
        PlasticitySpec ps;
        ps.rule = PairStdpParams{a_plus, a_minus, tau_plus, tau_minus, pairing};
        ps.w_min_mV = -1e9;  // far below; w_max stays infinite
        p.plasticity = ps;
        s.projections = {p, connect("driver", "post", OneToOne{}, 50.0, kDriverDelay)};
        s.record.spike_populations = {"post"};
        Simulation sim(s);
        sim.run();
        for (std::uint32_t i = 0; i < n; ++i)
            CHECK(spike_ticks(sim, 1, i) == std::vector<Tick>{sim.time().round(102.0 + dts[i] - 0.5)});
        const auto w = sim.weights_now(0);
        REQUIRE(w.size() == n);
        for (std::uint32_t i = 0; i < n; ++i) {
            const double dt = dts[i];
            const double expected = dt >= 0 ? a_plus * std::exp(-dt / tau_plus) : -a_minus * std::exp(dt / tau_minus);
            INFO("dt = " << dt << " ms: dw = " << w[i].w - 1.0 << " expected " << expected);
            CHECK(w[i].post == i);
            CHECK(std::abs((w[i].w - 1.0) - expected) < kTol);
        }
    }
}

TEST_CASE("Weight probes sample at multiples of the interval the weight left by everything at that tick") {
    // Updates land exactly on sample ticks: with delay 1 and dendritic delay 0.5
    // a pre spike at t is handed over at t + 1.5 and a post spike at t + 1.
    Scenario sc;
    sc.pre_ms = {{2.0, 5.0, 13.5, 21.0}, {4.5, 9.0, 30.0}, {1.0, 17.25, 17.5}};
    sc.post_ms = {{3.0, 8.0, 19.5, 25.0}, {6.0, 15.0, 28.0}};
    sc.delay_ms = 1.0;
    sc.dendritic_ms = 0.5;
    sc.duration_ms = 40.0;
    PlasticitySpec ps;
    ps.rule = PairStdpParams{0.2, 0.25, 16.8, 33.7, Pairing::AllToAll};
    ps.dependence = {1.0, 1.0};
    ps.w_max_mV = 1.0;
    NetworkSpec spec = build(sc, ps);
    const double interval = 0.5, interval_b = 2.0;
    spec.record.weights = {WeightProbeSpec{"pre->post", {}, interval},
                           WeightProbeSpec{"pre->post", {{2, 1}, {0, 0}}, interval_b}};
    Simulation sim(spec);
    sim.run();

    // The same network without probes, run in chunks to just after each sample tick.
    Simulation cut(build(sc, ps));
    const TimeBase& tb = sim.time();
    const Tick step = tb.round(interval), step_b = tb.round(interval_b);
    std::vector<WeightSample> expected;
    for (Tick t = 0; t < sim.duration_ticks(); t += step) {
        cut.run_until(t + 1);
        const auto now = cut.weights_now(0);
        for (const auto& w : now) expected.push_back({t, 0, w.pre, w.post, w.w});
        if (t % step_b == 0)
            for (const auto& w : now)  // storage order: (0, 0) before (2, 1)
                if ((w.pre == 0 && w.post == 0) || (w.pre == 2 && w.post == 1))
                    expected.push_back({t, 0, w.pre, w.post, w.w});
    }
    const auto& got = sim.weight_samples();
    REQUIRE(got.size() == expected.size());
    CHECK(got.size() == 80 * 6 + 20 * 2);
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
        if (got[i].t != expected[i].t || got[i].projection != 0 || got[i].pre != expected[i].pre ||
            got[i].post != expected[i].post || got[i].w != expected[i].w) {
            if (++mismatches <= 5) {
                INFO("sample " << i << " t " << got[i].t << " (" << got[i].pre << "," << got[i].post << ") w "
                               << got[i].w << " expected t " << expected[i].t << " (" << expected[i].pre << ","
                               << expected[i].post << ") w " << expected[i].w);
                CHECK(false);
            }
        }
    }
    CHECK(mismatches == 0);

    // Independently: each sample equals the reference over the events handed
    // over at or before its tick, and the weights do change between samples,
    // including at ticks where an update happens exactly.
    const Tick d_den = tb.round(0.5), d_ax = tb.round(1.0);
    std::size_t changes = 0, worst_count = 0;
    double worst = 0.0;
    std::vector<double> w0(6);
    for (std::size_t i = 0; i < 6; ++i) w0[i] = got[i].w;  // t = 0: nothing has happened yet
    std::vector<double> last = w0;
    for (const auto& smp : got) {
        if (smp.t % step != 0) continue;
        std::vector<Tick> a, b;
        for (double t : sc.pre_ms[smp.pre])
            if (tb.round(t) + d_ax + d_den <= smp.t) a.push_back(tb.round(t) + d_ax);
        for (double t : sc.post_ms[smp.post])
            if (tb.round(t) + 2 * d_den <= smp.t) b.push_back(tb.round(t) + d_den);
        const std::size_t idx = smp.pre * 2 + smp.post;  // all-to-all storage order with equal delays
        const double ref = reference(a, b, ps, w0[idx]).w;
        worst = std::max(worst, std::abs(ref - smp.w));
        ++worst_count;
        if (smp.w != last[idx]) ++changes;
        last[idx] = smp.w;
    }
    CHECK(worst_count == got.size());
    CHECK(worst < kTol);
    CHECK(changes >= 10);
    // Pre 0 spikes at 5.0: its depression of (0, 0) (post 0 spiked at 3.0) is handed over at 6.5, a sample tick.
    auto at = [&](double t_ms, std::uint32_t pre, std::uint32_t post) {
        for (const auto& smp : got)
            if (smp.t == tb.round(t_ms) && smp.pre == pre && smp.post == post) return smp.w;
        return std::numeric_limits<double>::quiet_NaN();
    };
    CHECK(at(6.5, 0, 0) < at(6.0, 0, 0));
    CHECK(at(6.5, 0, 0) == at(7.0, 0, 0));
}

TEST_CASE("At a presynaptic arrival the old weight is transmitted and depression follows") {
    // Post spike at 10 ms (b = 10.5 with dendritic delay 0.5); pre spikes at 20
    // and 30 with axonal delay 1: a = 21 and 31, PSPs at the soma at 21.5 and 31.5.
    NetworkSpec s;
    s.run.duration_ms = 40.0;
    const double w0 = 2.0, a_minus = 0.5, tau_minus = 20.0;
    s.populations = {spike_times("pre", {{20.0, 30.0}}), lif("post", 1, kPostLif),
                     spike_times("driver", {{10.0 - kDriverDelay}})};
    ProjectionSpec p = connect("pre", "post", OneToOne{}, w0, 1.0);
    p.dendritic_delay_ms = 0.5;
    PlasticitySpec ps;
    ps.rule = PairStdpParams{0.3, a_minus, 16.8, tau_minus, Pairing::AllToAll};
    ps.w_min_mV = -1e9;
    p.plasticity = ps;
    s.projections = {p, connect("driver", "post", OneToOne{}, 50.0, kDriverDelay)};
    s.record.spike_populations = {"post"};
    s.record.voltages = {VoltageProbeSpec{"post", {}, 0.5}};
    Simulation sim(s);
    sim.run();
    REQUIRE(spike_ticks(sim, 1, 0) == std::vector<Tick>{sim.time().round(10.0)});
    const double w1 = w0 - a_minus * std::exp(-(21.0 - 10.5) / tau_minus);
    const double w2 = w1 - a_minus * std::exp(-(31.0 - 10.5) / tau_minus);
    REQUIRE(sim.weights_now(0).size() == 1);
    CHECK(std::abs(sim.weights_now(0)[0].w - w2) < kTol);
    // V rests at -70 after the reset at 10 ms (v_reset = v_rest): the first PSP is w0, not w1.
    auto v_at = [&](double t_ms) {
        for (const auto& v : sim.voltages())
            if (v.t == sim.time().round(t_ms)) return v.v_mV;
        return std::numeric_limits<double>::quiet_NaN();
    };
    CHECK(std::abs(v_at(21.0) - -70.0) < kTol);
    CHECK(std::abs(v_at(21.5) - (-70.0 + w0)) < kTol);
    // The second PSP carries w1 on top of the first one's decay (tau_m = 10 ms).
    CHECK(std::abs(v_at(31.5) - (-70.0 + w0 * std::exp(-10.0 / 10.0) + w1)) < kTol);
}
