// The plasticity of a projection: one function per rule, then the weight
// bounds and weight dependence that all rules share.
#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "io/loader/sections.hpp"
#include "plasticity/presets.hpp"

namespace spikeem::io::loader {
namespace {

// The validator together with whether every check so far has passed: a rule
// with any problem yields no PlasticitySpec, and some checks (the central
// window against the delays, initial weights against the bounds) only mean
// something once the values they compare are valid.
struct Checks {
    Validator& v;
    bool ok = true;

    void fail(const Node& m, const char* name, const std::string& value, const std::string& what) {
        v.fail(m, name, value, what);
        ok = false;
    }
    void fail_node(const Node& m, const std::string& what) {
        v.fail_node(m, what);
        ok = false;
    }
    void positive(const Node& m, const char* name, double x) {
        if (!(std::isfinite(x) && x > 0)) fail(m, name, num(x), "must be > 0 (ms)");
    }
    void amplitude(const Node& m, const char* name, double x) {
        if (!(std::isfinite(x) && x >= 0)) fail(m, name, num(x), "must be >= 0 (mV; the sign is the rule's)");
    }
};

VoltageSlopeParams voltage_slope(const proto::VoltageSlope& r, const Node& m, const ProjectionSpec& js,
                                 double resolution_ms, Checks& c) {
    VoltageSlopeParams q;
    q.eta_ms = r.eta_ms();
    if (!std::isfinite(q.eta_ms)) c.fail(m, "eta_ms", num(q.eta_ms), "must be a finite number (ms)");
    switch (r.estimate()) {
        case proto::VoltageSlope::FORWARD: q.estimate = SlopeEstimate::Forward; break;
        case proto::VoltageSlope::CENTRAL: q.estimate = SlopeEstimate::Central; break;
        case proto::VoltageSlope::ANALYTIC: q.estimate = SlopeEstimate::Analytic; break;
        default: c.fail(m, "estimate", std::to_string(r.estimate()), "unknown estimate");
    }
    if (r.has_window_ms()) q.window_ms = r.window_ms();
    if (!(std::isfinite(q.window_ms) && q.window_ms >= resolution_ms))
        c.fail(m, "window_ms", num(q.window_ms), fmt::format("must be >= the resolution {} (ms)", num(resolution_ms)));
    if (r.has_exclude_own_psp()) q.exclude_own_psp = r.exclude_own_psp();
    if (c.ok && q.estimate == SlopeEstimate::Central) {
        // V(t - T) is read by a probe scheduled when the spike leaves; it must not lie in the past.
        double dlo = support(js.delay_ms).first;
        if (const auto* ep = std::get_if<ExplicitPairs>(&js.connectivity))
            for (const auto& pr : ep->pairs)
                if (pr.delay_ms) dlo = std::min(dlo, *pr.delay_ms);
        if (dlo < q.window_ms)
            c.fail(m, "window_ms", num(q.window_ms),
                   fmt::format("the central difference reads V at t - T when the spike is emitted, so every "
                               "axonal delay must be >= T; the smallest is {} (ms)",
                               num(dlo)));
    }
    return q;
}

RateSlopeParams rate_slope(const proto::RateSlope& r, const Node& m, Checks& c) {
    RateSlopeParams q{r.eta_mv_ms(), r.tau_pre_ms(), r.tau_post_ms()};
    if (!std::isfinite(q.eta_mV_ms)) c.fail(m, "eta_mV_ms", num(q.eta_mV_ms), "must be a finite number (mV ms)");
    c.positive(m, "tau_pre_ms", q.tau_pre_ms);
    c.positive(m, "tau_post_ms", q.tau_post_ms);
    return q;
}

InhibitoryStdpParams inhibitory_stdp(const proto::InhibitoryStdp& r, const Node& m, Checks& c) {
    InhibitoryStdpParams q;
    if (r.has_eta_mv()) q.eta_mV = r.eta_mv();
    else c.fail(m, "eta_mV", "", "missing: the learning rate (mV), e.g. eta_mV: 0.01");
    if (r.has_tau_ms()) q.tau_ms = r.tau_ms();
    if (r.has_target_rate_hz()) q.target_rate_hz = r.target_rate_hz();
    else c.fail(m, "target_rate_hz", "", "missing: the target postsynaptic rate rho_0 (Hz), e.g. target_rate_hz: 5");
    if (r.has_eta_mv()) c.amplitude(m, "eta_mV", q.eta_mV);
    c.positive(m, "tau_ms", q.tau_ms);
    if (r.has_target_rate_hz() && !(std::isfinite(q.target_rate_hz) && q.target_rate_hz >= 0))
        c.fail(m, "target_rate_hz", num(q.target_rate_hz), "must be >= 0 and finite (Hz)");
    return q;
}

PairStdpParams pair_stdp(const proto::PairStdp& r, const Node& m, Checks& c) {
    PairStdpParams q{r.a_plus_mv(), r.a_minus_mv(), r.tau_plus_ms(), r.tau_minus_ms(), Pairing::AllToAll};
    c.amplitude(m, "a_plus_mV", q.a_plus_mV);
    c.amplitude(m, "a_minus_mV", q.a_minus_mV);
    c.positive(m, "tau_plus_ms", q.tau_plus_ms);
    c.positive(m, "tau_minus_ms", q.tau_minus_ms);
    switch (r.pairing()) {
        case proto::ALL_TO_ALL: q.pairing = Pairing::AllToAll; break;
        case proto::NEAREST_SYMMETRIC: q.pairing = Pairing::NearestSymmetric; break;
        case proto::NEAREST_PRESYNAPTIC_CENTRED: q.pairing = Pairing::NearestPresynapticCentred; break;
        default: c.fail(m, "pairing", std::to_string(r.pairing()), "unknown pairing scheme");
    }
    return q;
}

// Nothing for an unknown preset: its parameters are then unknown, so nothing else is checked.
std::optional<TripletStdpParams> triplet_stdp(const proto::TripletStdp& r, const Node& m, Checks& c) {
    TripletStdpParams q;
    bool have_preset = !r.preset().empty();
    if (have_preset) {
        if (auto pre = triplet_preset(r.preset())) {
            q = *pre;
        } else {
            c.v.fail(m, "preset", fmt::format("\"{}\"", r.preset()),
                     fmt::format("unknown preset (known: {})", triplet_preset_names()));
            return std::nullopt;
        }
    }
    // A parameter given overrides the preset's; without a preset every one must be given.
    auto take = [&](const char* name, bool has, double value, double& into, bool is_tau) {
        if (has) into = value;
        else if (!have_preset) {
            c.fail(m, name, "", "missing: without a preset every parameter must be given");
            return;
        }
        if (is_tau) c.positive(m, name, into);
        else c.amplitude(m, name, into);
    };
    take("a2_plus_mV", r.has_a2_plus_mv(), r.a2_plus_mv(), q.a2_plus_mV, false);
    take("a3_plus_mV", r.has_a3_plus_mv(), r.a3_plus_mv(), q.a3_plus_mV, false);
    take("a2_minus_mV", r.has_a2_minus_mv(), r.a2_minus_mv(), q.a2_minus_mV, false);
    take("a3_minus_mV", r.has_a3_minus_mv(), r.a3_minus_mv(), q.a3_minus_mV, false);
    take("tau_plus_ms", r.has_tau_plus_ms(), r.tau_plus_ms(), q.tau_plus_ms, true);
    take("tau_minus_ms", r.has_tau_minus_ms(), r.tau_minus_ms(), q.tau_minus_ms, true);
    take("tau_x_ms", r.has_tau_x_ms(), r.tau_x_ms(), q.tau_x_ms, true);
    take("tau_y_ms", r.has_tau_y_ms(), r.tau_y_ms(), q.tau_y_ms, true);
    if (r.has_nearest_spike()) q.nearest_spike = r.nearest_spike();
    return q;
}

// The initial weights of js against the bounds of ps: they must lie within,
// or the first update would silently clip them.  The messages say which
// field to set, and how an inhibitory projection is declared (efficacy_sign).
void initial_weights(const proto::Plasticity& p, const Node& n, const ProjectionSpec& js, const PlasticitySpec& ps,
                     bool slope_rule, Checks& c) {
    auto [lo, hi] = support(js.weight_mV);
    if (const auto* ep = std::get_if<ExplicitPairs>(&js.connectivity)) {
        bool all_own = !ep->pairs.empty();
        for (const auto& pr : ep->pairs) all_own = all_own && pr.weight_mV.has_value();
        if (all_own) lo = INFINITY, hi = -INFINITY;  // the projection-wide weight is never drawn
        for (const auto& pr : ep->pairs)
            if (pr.weight_mV) lo = std::min(lo, *pr.weight_mV), hi = std::max(hi, *pr.weight_mV);
    }
    if (!c.ok || lo > hi) return;
    const std::string field = n.path + ".";
    if (lo < ps.w_min_mV || hi > ps.w_max_mV) {
        std::string fix;
        if (lo < ps.w_min_mV && hi <= 0 && !slope_rule)
            fix = fmt::format("the initial weight {} mV is below w_min_mV = {}{}; an inhibitory plastic projection "
                              "(weights <= 0) needs signed bounds: set {}w_min_mV <= {} and {}w_max_mV <= 0, e.g. "
                              "w_min_mV: {} w_max_mV: 0 (its rule then makes w more negative as it potentiates)",
                              num(lo), num(ps.w_min_mV), p.has_w_min_mv() ? "" : " (the default)", field, num(lo),
                              field, num(std::min(10 * std::floor(lo / 10), -10.0)));
        else if (lo < ps.w_min_mV)
            fix = fmt::format("the initial weight {} mV is below w_min_mV = {}{}: set {}w_min_mV <= {}", num(lo),
                              num(ps.w_min_mV), p.has_w_min_mv() ? "" : " (the default)", field, num(lo));
        else
            fix = fmt::format("the initial weight {} mV is above w_max_mV = {}: set {}w_max_mV >= {}", num(hi),
                              num(ps.w_max_mV), field, num(hi));
        c.fail_node(n, fmt::format("initial weights range over [{}, {}] mV, outside the bounds [{}, {}] mV: {}",
                                   num(lo), num(hi), num(ps.w_min_mV), num(ps.w_max_mV), fix));
    } else if (!slope_rule && hi < 0 && !p.has_w_max_mv()) {
        // Negative weights between w_min < 0 and w_max = +inf: a spike-pair rule would
        // weaken the inhibition as it potentiates, almost surely not what was meant.
        c.fail(n, "w_max_mV", "",
               fmt::format("missing: the initial weights are all negative (up to {} mV); spike-pair rules make an "
                           "inhibitory synapse stronger (w more negative) as they potentiate only when w_max_mV <= 0: "
                           "set {}w_max_mV: 0 (or a positive w_max_mV, to let these weights grow towards and past 0)",
                           num(hi), field));
    }
}

// w_min_mV, w_max_mV and weight_dependence of ps (its rule already read), and
// the initial weights of js against those bounds.
void weight_bounds(const proto::Plasticity& p, const Node& n, const ProjectionSpec& js, PlasticitySpec& ps,
                   Checks& c) {
    // Spike-pair rules keep weights non-negative by default; Eq. 1 rules move
    // weights either way and have no bounds unless given.
    const bool slope_rule =
        p.rule_case() == proto::Plasticity::kVoltageSlope || p.rule_case() == proto::Plasticity::kRateSlope;
    if (slope_rule) ps.w_min_mV = -INFINITY;
    if (p.has_w_min_mv()) ps.w_min_mV = p.w_min_mv();
    if (p.has_w_max_mv()) ps.w_max_mV = p.w_max_mv();
    if (p.has_w_min_mv() && !std::isfinite(ps.w_min_mV))
        c.fail(n, "w_min_mV", num(ps.w_min_mV), "must be a finite number (mV)");
    if (p.has_w_max_mv() && !(ps.w_max_mV > ps.w_min_mV && !std::isnan(ps.w_max_mV)))
        c.fail(n, "w_max_mV", num(ps.w_max_mV), fmt::format("must be > w_min_mV = {} (mV)", num(ps.w_min_mV)));
    const auto& wd = p.weight_dependence();
    Node dn = n.child("weight_dependence", wd);
    switch (wd.kind_case()) {
        case proto::WeightDependence::KIND_NOT_SET:
        case proto::WeightDependence::kAdditive: ps.dependence = {0.0, 0.0}; break;
        case proto::WeightDependence::kMultiplicative: ps.dependence = {1.0, 1.0}; break;
        case proto::WeightDependence::kGuetig: {
            Node g = dn.child("guetig", wd.guetig());
            ps.dependence = {wd.guetig().mu_plus(), wd.guetig().mu_minus()};
            if (!(ps.dependence.mu_plus >= 0 && std::isfinite(ps.dependence.mu_plus)))
                c.fail(g, "mu_plus", num(ps.dependence.mu_plus), "must be >= 0 (dimensionless)");
            if (!(ps.dependence.mu_minus >= 0 && std::isfinite(ps.dependence.mu_minus)))
                c.fail(g, "mu_minus", num(ps.dependence.mu_minus), "must be >= 0 (dimensionless)");
            break;
        }
    }
    const bool weight_dependent = wd.kind_case() == proto::WeightDependence::kMultiplicative ||
                                  wd.kind_case() == proto::WeightDependence::kGuetig;
    if ((slope_rule || p.has_inhibitory_stdp()) && weight_dependent)
        c.fail_node(dn, "must be additive for voltage_slope, rate_slope and inhibitory_stdp (their updates have "
                        "either sign)");
    if (weight_dependent && !p.has_w_max_mv())
        c.fail(n, "w_max_mV", "", "missing: a weight-dependent rule needs a finite upper bound (mV)");
    // An infinite bound makes (w_max - w) infinite: the updates are then inf or NaN, or nothing.
    else if (weight_dependent && std::isinf(ps.w_max_mV) && ps.w_max_mV > 0)
        c.fail(n, "w_max_mV", num(ps.w_max_mV),
               fmt::format("must be finite with a weight-dependent rule (at most {}) (mV)",
                           num(std::numeric_limits<double>::max())));
    initial_weights(p, n, js, ps, slope_rule, c);
}

}  // namespace

std::optional<PlasticitySpec> load_plasticity(const proto::Plasticity& p, const Node& n, const ProjectionSpec& js,
                                              double resolution_ms, Validator& v) {
    PlasticitySpec ps;
    Checks c{v};
    switch (p.rule_case()) {
        case proto::Plasticity::RULE_NOT_SET:
            v.fail_node(n, "no rule: expected pair_stdp, triplet_stdp, voltage_slope or rate_slope, or inhibitory_stdp");
            return std::nullopt;
        case proto::Plasticity::kVoltageSlope:
            ps.rule = voltage_slope(p.voltage_slope(), n.child("voltage_slope", p.voltage_slope()), js, resolution_ms, c);
            break;
        case proto::Plasticity::kRateSlope:
            ps.rule = rate_slope(p.rate_slope(), n.child("rate_slope", p.rate_slope()), c);
            break;
        case proto::Plasticity::kInhibitoryStdp:
            ps.rule = inhibitory_stdp(p.inhibitory_stdp(), n.child("inhibitory_stdp", p.inhibitory_stdp()), c);
            break;
        case proto::Plasticity::kPairStdp:
            ps.rule = pair_stdp(p.pair_stdp(), n.child("pair_stdp", p.pair_stdp()), c);
            break;
        case proto::Plasticity::kTripletStdp: {
            auto q = triplet_stdp(p.triplet_stdp(), n.child("triplet_stdp", p.triplet_stdp()), c);
            if (!q) return std::nullopt;
            ps.rule = *q;
            break;
        }
    }
    weight_bounds(p, n, js, ps, c);
    if (!c.ok) return std::nullopt;
    return ps;
}

}  // namespace spikeem::io::loader
