#include "io/spec_loader.hpp"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/text_format.h>

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "io/spikeem.pb.h"
#include "plasticity/presets.hpp"
#include "sim/random.hpp"
#include "sim/time.hpp"

namespace spikeem::io {
namespace {

namespace pb = google::protobuf;
using ParseInfoTree = pb::TextFormat::ParseInfoTree;

class ParseErrors : public pb::io::ErrorCollector {
public:
    explicit ParseErrors(std::string origin) : origin_(std::move(origin)) {}
    void AddError(int line, pb::io::ColumnNumber column, const std::string& message) override {
        lines_.push_back(fmt::format("{}:{}:{}: {}", origin_, line + 1, column + 1, message));
    }
    void AddWarning(int line, pb::io::ColumnNumber column, const std::string& message) override {
        AddError(line, column, message);  // e.g. deprecated syntax: treat as an error, nothing passes silently
    }
    std::vector<std::string> lines_;

private:
    std::string origin_;
};

// A message in the spec together with its place: the field path for messages,
// and the text-format parse tree (when parsed from text) for line and column.
struct Node {
    const pb::Message* msg;
    const ParseInfoTree* tree;
    std::string path;

    const pb::FieldDescriptor* field(const char* name) const {
        const pb::FieldDescriptor* f = msg->GetDescriptor()->FindFieldByName(name);
        if (f == nullptr) throw std::logic_error(std::string("no field ") + name);
        return f;
    }
    Node child(const char* name, const pb::Message& sub, int index = -1) const {
        const ParseInfoTree* t = tree ? tree->GetTreeForNested(field(name), index) : nullptr;
        std::string p = path.empty() ? name : path + "." + name;
        if (index >= 0) p += fmt::format("[{}]", index);
        return Node{&sub, t, p};
    }
    // A named child of a repeated field: `population "E"` reads better than population[3].
    Node named(const char* name, const pb::Message& sub, int index, const std::string& label) const {
        Node n = child(name, sub, index);
        n.path = fmt::format("{} \"{}\"", name, label);
        return n;
    }
    std::string where(const char* name = nullptr, int index = -1) const {
        if (tree == nullptr) return "";
        pb::TextFormat::ParseLocation loc{-1, -1};
        if (name == nullptr) return "";
        const pb::FieldDescriptor* f = field(name);
        // A repeated field has a location per element only: without an index there is none.
        if (f->is_repeated() != (index >= 0)) return "";
        loc = tree->GetLocation(f, index);
        // List syntax (`neuron: [0, 3]`) records one location for the whole list: point there.
        if (loc.line < 0 && index > 0) loc = tree->GetLocation(f, 0);
        if (loc.line < 0) return "";
        return fmt::format("{}:{}:", loc.line + 1, loc.column + 1);
    }
    std::string at(const char* name, int index = -1) const {
        std::string p = path.empty() ? name : path + "." + name;
        if (index >= 0) p += fmt::format("[{}]", index);
        return p;
    }
};

std::string num(double x) { return fmt::format("{}", x); }

class Validator {
public:
    explicit Validator(std::string origin) : origin_(std::move(origin)) {}

    // Report a problem with field `name` of `n`: "file:line:col: path = value: what".
    void fail(const Node& n, const char* name, const std::string& value, const std::string& what, int index = -1) {
        std::string loc = n.where(name, index);
        std::string head = loc.empty() ? origin_ + ":" : origin_ + ":" + loc;
        if (value.empty())
            errors_.push_back(fmt::format("{} {}: {}", head, n.at(name, index), what));
        else
            errors_.push_back(fmt::format("{} {} = {}: {}", head, n.at(name, index), value, what));
    }
    // A problem with a message as a whole (e.g. a missing oneof).
    void fail_node(const Node& n, const std::string& what) {
        errors_.push_back(fmt::format("{}: {}: {}", origin_, n.path, what));
    }

    bool finite(const Node& n, const char* name, double v, const char* unit) {
        if (std::isfinite(v)) return true;
        fail(n, name, num(v), fmt::format("must be a finite number ({})", unit));
        return false;
    }
    void positive(const Node& n, const char* name, double v, const char* unit) {
        if (!finite(n, name, v, unit)) return;
        if (!(v > 0)) fail(n, name, num(v), fmt::format("must be > 0 ({})", unit));
    }
    void non_negative(const Node& n, const char* name, double v, const char* unit) {
        if (!finite(n, name, v, unit)) return;
        if (!(v >= 0)) fail(n, name, num(v), fmt::format("must be >= 0 ({})", unit));
    }

    // Returns the distribution if valid.  min_value > 0: every draw must be >= min_value
    // (delays: at least one scheduler tick), named by min_label in messages.
    std::optional<Distribution> distribution(const Node& parent, const char* name, const proto::Distribution& d,
                                             const char* unit, bool required, double min_value = 0.0,
                                             const std::string& min_label = "") {
        const bool positive_values = min_value > 0.0;
        const std::string bound = fmt::format("must be >= {} ({})", min_label, unit);
        Node n = parent.child(name, d);
        switch (d.kind_case()) {
            case proto::Distribution::KIND_NOT_SET:
                if (required)
                    fail(parent, name, "", fmt::format("missing: expected constant, uniform or normal ({})", unit));
                return std::nullopt;
            case proto::Distribution::kConstant:
                if (!finite(n, "constant", d.constant(), unit)) return std::nullopt;
                if (positive_values && !(d.constant() >= min_value)) {
                    fail(n, "constant", num(d.constant()), bound);
                    return std::nullopt;
                }
                return Distribution{d.constant()};
            case proto::Distribution::kUniform: {
                Node u = n.child("uniform", d.uniform());
                bool ok = finite(u, "low", d.uniform().low(), unit) && finite(u, "high", d.uniform().high(), unit);
                if (ok && !(d.uniform().high() > d.uniform().low())) {
                    fail(u, "high", num(d.uniform().high()),
                         fmt::format("must be > low = {} ({})", num(d.uniform().low()), unit));
                    ok = false;
                }
                if (ok && positive_values && !(d.uniform().low() >= min_value)) {
                    fail(u, "low", num(d.uniform().low()), bound);
                    ok = false;
                }
                if (!ok) return std::nullopt;
                return Distribution{UniformDist{d.uniform().low(), d.uniform().high()}};
            }
            case proto::Distribution::kNormal: {
                const auto& m = d.normal();
                Node u = n.child("normal", m);
                bool ok = finite(u, "mean", m.mean(), unit) && finite(u, "std", m.std(), unit);
                if (ok && !(m.std() >= 0)) {
                    fail(u, "std", num(m.std()), fmt::format("must be >= 0 ({})", unit));
                    ok = false;
                }
                NormalDist nd{m.mean(), m.std()};
                if (m.has_min()) ok = finite(u, "min", m.min(), unit) && ok, nd.low = m.min();
                if (m.has_max()) ok = finite(u, "max", m.max(), unit) && ok, nd.high = m.max();
                if (ok && nd.low > nd.high) {
                    fail(u, "max", num(nd.high), fmt::format("must be >= min = {} ({})", num(nd.low), unit));
                    ok = false;
                }
                if (ok && positive_values && !(m.has_min() && m.min() >= min_value)) {
                    fail(u, "min", m.has_min() ? num(m.min()) : "",
                         fmt::format("must be set and >= {} ({}): draws are clipped to it", min_label, unit));
                    ok = false;
                }
                if (!ok) return std::nullopt;
                return Distribution{nd};
            }
        }
        return std::nullopt;
    }

    const std::vector<std::string>& errors() const { return errors_; }
    const std::string& origin() const { return origin_; }

private:
    std::string origin_;
    std::vector<std::string> errors_;
};

bool valid_name(const std::string& s) {
    if (s.empty() || s.size() > 200) return false;
    for (unsigned char c : s)
        if (!(std::isalnum(c) || c == '_' || c == '-' || c == '.' || c == ':' || c == '>' || c == '+')) return false;
    return true;
}
constexpr const char* kNameRule = "must be 1 to 200 of the characters A-Z a-z 0-9 _ - . : > +";

// Upper bound of a distribution's draws (for initial voltages below threshold).
double sup(const Distribution& d) {
    if (auto* c = std::get_if<double>(&d)) return *c;
    if (auto* u = std::get_if<UniformDist>(&d)) return u->high;  // exclusive
    return std::get<NormalDist>(d).high;
}

// Bounds of a distribution's draws, for checking initial weights against weight bounds.
std::pair<double, double> support(const Distribution& d) {
    if (auto* c = std::get_if<double>(&d)) return {*c, *c};
    if (auto* u = std::get_if<UniformDist>(&d)) return {u->low, u->high};
    const auto& n = std::get<NormalDist>(d);
    return {n.low, n.high};
}

// The voltages shared by the LIF models (LifDeltaParams, LifExpParams): finite,
// reset below threshold, every initial value below threshold (default: rest,
// or reset when rest is above threshold).
template <class Params>
void lif_voltages(Validator& v, const Node& mn, const proto::Distribution& v_init, Params& lp) {
    bool volts = v.finite(mn, "v_rest_mV", lp.v_rest_mV, "mV") & v.finite(mn, "v_th_mV", lp.v_th_mV, "mV") &
                 v.finite(mn, "v_reset_mV", lp.v_reset_mV, "mV");
    if (volts && !(lp.v_reset_mV < lp.v_th_mV))
        v.fail(mn, "v_reset_mV", num(lp.v_reset_mV), fmt::format("must be < v_th_mV = {} (mV)", num(lp.v_th_mV)));
    lp.v_init_mV = lp.v_rest_mV < lp.v_th_mV ? lp.v_rest_mV : lp.v_reset_mV;
    if (auto d = v.distribution(mn, "v_init_mV", v_init, "mV", false)) {
        lp.v_init_mV = *d;
        double hi = sup(*d);
        bool exclusive = std::holds_alternative<UniformDist>(*d);
        if (volts && (exclusive ? hi > lp.v_th_mV : hi >= lp.v_th_mV))
            v.fail(mn, "v_init_mV", "",
                   fmt::format("every initial value must be below v_th_mV = {} (mV); {} allows {}", num(lp.v_th_mV),
                               std::holds_alternative<NormalDist>(*d) ? "the normal's max" : "it", num(hi)));
    }
}

std::optional<PlasticitySpec> plasticity(const Node& n, const proto::Plasticity& p, const ProjectionSpec& js,
                                         double resolution_ms, Validator& v) {
    PlasticitySpec ps;
    bool ok = true;
    auto positive = [&](const Node& m, const char* name, double x) {
        if (!(std::isfinite(x) && x > 0)) v.fail(m, name, num(x), "must be > 0 (ms)"), ok = false;
    };
    auto amplitude = [&](const Node& m, const char* name, double x) {
        if (!(std::isfinite(x) && x >= 0))
            v.fail(m, name, num(x), "must be >= 0 (mV; the sign is the rule's)"), ok = false;
    };
    switch (p.rule_case()) {
        case proto::Plasticity::RULE_NOT_SET:
            v.fail_node(n, "no rule: expected pair_stdp, triplet_stdp, voltage_slope or rate_slope");
            return std::nullopt;
        case proto::Plasticity::kVoltageSlope: {
            const auto& r = p.voltage_slope();
            Node m = n.child("voltage_slope", r);
            VoltageSlopeParams q;
            q.eta_ms = r.eta_ms();
            if (!std::isfinite(q.eta_ms)) v.fail(m, "eta_ms", num(q.eta_ms), "must be a finite number (ms)"), ok = false;
            switch (r.estimate()) {
                case proto::VoltageSlope::FORWARD: q.estimate = SlopeEstimate::Forward; break;
                case proto::VoltageSlope::CENTRAL: q.estimate = SlopeEstimate::Central; break;
                case proto::VoltageSlope::ANALYTIC: q.estimate = SlopeEstimate::Analytic; break;
                default: v.fail(m, "estimate", std::to_string(r.estimate()), "unknown estimate"), ok = false;
            }
            if (r.has_window_ms()) q.window_ms = r.window_ms();
            if (!(std::isfinite(q.window_ms) && q.window_ms >= resolution_ms))
                v.fail(m, "window_ms", num(q.window_ms), fmt::format("must be >= the resolution {} (ms)", num(resolution_ms))),
                    ok = false;
            if (r.has_exclude_own_psp()) q.exclude_own_psp = r.exclude_own_psp();
            if (ok && q.estimate == SlopeEstimate::Central) {
                // V(t - T) is read by a probe scheduled when the spike leaves; it must not lie in the past.
                auto [dlo, dhi] = support(js.delay_ms);
                if (const auto* ep = std::get_if<ExplicitPairs>(&js.connectivity))
                    for (const auto& pr : ep->pairs)
                        if (pr.delay_ms) dlo = std::min(dlo, *pr.delay_ms);
                (void)dhi;
                if (dlo < q.window_ms)
                    v.fail(m, "window_ms", num(q.window_ms),
                           fmt::format("the central difference reads V at t - T when the spike is emitted, so every "
                                       "axonal delay must be >= T; the smallest is {} (ms)",
                                       num(dlo))),
                        ok = false;
            }
            ps.rule = q;
            break;
        }
        case proto::Plasticity::kRateSlope: {
            const auto& r = p.rate_slope();
            Node m = n.child("rate_slope", r);
            RateSlopeParams q{r.eta_mv_ms(), r.tau_pre_ms(), r.tau_post_ms()};
            if (!std::isfinite(q.eta_mV_ms))
                v.fail(m, "eta_mV_ms", num(q.eta_mV_ms), "must be a finite number (mV ms)"), ok = false;
            positive(m, "tau_pre_ms", q.tau_pre_ms);
            positive(m, "tau_post_ms", q.tau_post_ms);
            ps.rule = q;
            break;
        }
        case proto::Plasticity::kPairStdp: {
            const auto& r = p.pair_stdp();
            Node m = n.child("pair_stdp", r);
            PairStdpParams q{r.a_plus_mv(), r.a_minus_mv(), r.tau_plus_ms(), r.tau_minus_ms(), Pairing::AllToAll};
            amplitude(m, "a_plus_mV", q.a_plus_mV);
            amplitude(m, "a_minus_mV", q.a_minus_mV);
            positive(m, "tau_plus_ms", q.tau_plus_ms);
            positive(m, "tau_minus_ms", q.tau_minus_ms);
            switch (r.pairing()) {
                case proto::ALL_TO_ALL: q.pairing = Pairing::AllToAll; break;
                case proto::NEAREST_SYMMETRIC: q.pairing = Pairing::NearestSymmetric; break;
                case proto::NEAREST_PRESYNAPTIC_CENTRED: q.pairing = Pairing::NearestPresynapticCentred; break;
                default: v.fail(m, "pairing", std::to_string(r.pairing()), "unknown pairing scheme"), ok = false;
            }
            ps.rule = q;
            break;
        }
        case proto::Plasticity::kTripletStdp: {
            const auto& r = p.triplet_stdp();
            Node m = n.child("triplet_stdp", r);
            TripletStdpParams q;
            bool have_preset = !r.preset().empty();
            if (have_preset) {
                if (auto pre = triplet_preset(r.preset())) {
                    q = *pre;
                } else {
                    std::string known;
                    for (const auto& [name, _] : triplet_presets()) known += (known.empty() ? "" : ", ") + name;
                    v.fail(m, "preset", fmt::format("\"{}\"", r.preset()), fmt::format("unknown preset (known: {})", known));
                    return std::nullopt;
                }
            }
            auto take = [&](const char* name, bool has, double value, double& into, bool is_tau) {
                if (has) into = value;
                else if (!have_preset) {
                    v.fail(m, name, "", "missing: without a preset every parameter must be given"), ok = false;
                    return;
                }
                if (is_tau) positive(m, name, into);
                else amplitude(m, name, into);
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
            ps.rule = q;
            break;
        }
    }
    // Spike-pair rules keep weights non-negative by default; Eq. 1 rules move
    // weights either way and have no bounds unless given.
    const bool slope_rule = p.rule_case() == proto::Plasticity::kVoltageSlope || p.rule_case() == proto::Plasticity::kRateSlope;
    if (slope_rule) ps.w_min_mV = -INFINITY;
    if (p.has_w_min_mv()) ps.w_min_mV = p.w_min_mv();
    if (p.has_w_max_mv()) ps.w_max_mV = p.w_max_mv();
    if (p.has_w_min_mv() && !std::isfinite(ps.w_min_mV))
        v.fail(n, "w_min_mV", num(ps.w_min_mV), "must be a finite number (mV)"), ok = false;
    if (p.has_w_max_mv() && !(ps.w_max_mV > ps.w_min_mV && !std::isnan(ps.w_max_mV)))
        v.fail(n, "w_max_mV", num(ps.w_max_mV), fmt::format("must be > w_min_mV = {} (mV)", num(ps.w_min_mV))), ok = false;
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
                v.fail(g, "mu_plus", num(ps.dependence.mu_plus), "must be >= 0 (dimensionless)"), ok = false;
            if (!(ps.dependence.mu_minus >= 0 && std::isfinite(ps.dependence.mu_minus)))
                v.fail(g, "mu_minus", num(ps.dependence.mu_minus), "must be >= 0 (dimensionless)"), ok = false;
            break;
        }
    }
    if (slope_rule && (wd.kind_case() == proto::WeightDependence::kMultiplicative ||
                       wd.kind_case() == proto::WeightDependence::kGuetig))
        v.fail_node(dn, "must be additive for voltage_slope and rate_slope (their updates have either sign)"), ok = false;
    if (wd.kind_case() == proto::WeightDependence::kMultiplicative || wd.kind_case() == proto::WeightDependence::kGuetig) {
        if (!p.has_w_max_mv())
            v.fail(n, "w_max_mV", "", "missing: a weight-dependent rule needs a finite upper bound (mV)"), ok = false;
    }
    // Initial weights must lie within the bounds, or the first update would silently clip them.
    auto [lo, hi] = support(js.weight_mV);
    if (const auto* ep = std::get_if<ExplicitPairs>(&js.connectivity)) {
        bool all_own = !ep->pairs.empty();
        for (const auto& pr : ep->pairs) all_own = all_own && pr.weight_mV.has_value();
        if (all_own) lo = INFINITY, hi = -INFINITY;  // the projection-wide weight is never drawn
        for (const auto& pr : ep->pairs)
            if (pr.weight_mV) lo = std::min(lo, *pr.weight_mV), hi = std::max(hi, *pr.weight_mV);
    }
    if (ok && (lo < ps.w_min_mV || hi > ps.w_max_mV))
        v.fail_node(n, fmt::format("initial weights range over [{}, {}] mV, outside the bounds [{}, {}] mV", num(lo),
                                   num(hi), num(ps.w_min_mV), num(ps.w_max_mV))),
            ok = false;
    if (!ok) return std::nullopt;
    return ps;
}

NetworkSpec validate_and_convert(const proto::Spec& spec, const ParseInfoTree* tree, const SpecOverrides& o,
                                 Validator& v) {
    NetworkSpec out;
    Node root{&spec, tree, ""};
    out.name = spec.name();

    // ---- run
    const auto& run = spec.run();
    Node rn = root.child("run", run);
    int digits = 6;
    if (run.has_resolution_ns()) {
        double r = run.resolution_ns();
        double l = std::isfinite(r) && r > 0 ? std::log10(r) : NAN;
        if (!std::isfinite(l) || std::abs(l - std::round(l)) > 1e-9 || std::round(l) < -3 || std::round(l) > 6)
            v.fail(rn, "resolution_ns", num(r), "must be a power of ten from 0.001 to 1000000 (ns)");
        else
            digits = 6 - static_cast<int>(std::round(l));
    }
    out.run.time_digits = digits;
    TimeBase time(digits);
    const std::string resolution = fmt::format("the resolution {}", num(time.resolution_ms()));
    if (run.has_duration_ms()) {
        double d = run.duration_ms();
        Node rd = rn;  // a value from --duration-ms has no place in the file
        if (o.duration_ms) rd = Node{&run, nullptr, "(--duration-ms) run"};
        v.positive(rd, "duration_ms", d, "ms");
        if (std::isfinite(d) && d * static_cast<double>(time.ticks_per_ms()) > 4.0e18)
            v.fail(rd, "duration_ms", num(d),
                   fmt::format("too long for the resolution {} ns (at most {} ms)", time.resolution_ns(),
                               num(4.0e18 / static_cast<double>(time.ticks_per_ms()))));
        out.run.duration_ms = d;
    }
    if (run.has_seed()) out.run.seed = run.seed();

    // ---- populations
    std::map<std::string, std::size_t> pop_index;
    std::vector<bool> is_neuron;
    std::uint64_t total = 0;
    if (spec.population_size() == 0) v.fail(root, "population", "", "the spec has no population: expected at least one");
    for (int i = 0; i < spec.population_size(); ++i) {
        const auto& p = spec.population(i);
        Node pn = valid_name(p.name()) ? root.named("population", p, i, p.name()) : root.child("population", p, i);
        PopulationSpec ps;
        ps.name = p.name();
        ps.size = p.size();
        if (!valid_name(p.name())) v.fail(pn, "name", fmt::format("\"{}\"", p.name()), kNameRule);
        else if (auto [it, fresh] = pop_index.emplace(p.name(), i); !fresh)
            v.fail(pn, "name", fmt::format("\"{}\"", p.name()),
                   fmt::format("must be unique: population[{}] has this name already", it->second));
        if (p.size() == 0) v.fail(pn, "size", "0", "must be >= 1 (neurons)");
        total += p.size();
        bool neuron = false;
        switch (p.model_case()) {
            case proto::Population::MODEL_NOT_SET:
                v.fail_node(pn, "no model: expected one of lif_delta, lif_exp, stochastic, poisson, spike_times");
                break;
            case proto::Population::kLifDelta: {
                neuron = true;
                const auto& m = p.lif_delta();
                Node mn = pn.child("lif_delta", m);
                LifDeltaParams lp;
                if (m.has_tau_m_ms()) lp.tau_m_ms = m.tau_m_ms();
                if (m.has_v_rest_mv()) lp.v_rest_mV = m.v_rest_mv();
                if (m.has_v_reset_mv()) lp.v_reset_mV = m.v_reset_mv();
                if (m.has_v_th_mv()) lp.v_th_mV = m.v_th_mv();
                if (m.has_t_ref_ms()) lp.t_ref_ms = m.t_ref_ms();
                v.positive(mn, "tau_m_ms", lp.tau_m_ms, "ms");
                v.non_negative(mn, "t_ref_ms", lp.t_ref_ms, "ms");
                lif_voltages(v, mn, m.v_init_mv(), lp);
                ps.model = lp;
                break;
            }
            case proto::Population::kLifExp: {
                neuron = true;
                const auto& m = p.lif_exp();
                Node mn = pn.child("lif_exp", m);
                LifExpParams lp;
                if (m.has_tau_m_ms()) lp.tau_m_ms = m.tau_m_ms();
                if (m.has_tau_e_ms()) lp.tau_e_ms = m.tau_e_ms();
                if (m.has_tau_i_ms()) lp.tau_i_ms = m.tau_i_ms();
                if (m.has_v_rest_mv()) lp.v_rest_mV = m.v_rest_mv();
                if (m.has_v_reset_mv()) lp.v_reset_mV = m.v_reset_mv();
                if (m.has_v_th_mv()) lp.v_th_mV = m.v_th_mv();
                if (m.has_t_ref_ms()) lp.t_ref_ms = m.t_ref_ms();
                v.positive(mn, "tau_m_ms", lp.tau_m_ms, "ms");
                // The closed form has tau_syn / (tau_syn - tau_m) in it: nearly equal time
                // constants would cancel away the precision of the state.
                auto distinct = [&](const char* name, double tau) {
                    v.positive(mn, name, tau, "ms");
                    if (std::isfinite(tau) && tau > 0 && std::isfinite(lp.tau_m_ms) && lp.tau_m_ms > 0 &&
                        std::abs(tau - lp.tau_m_ms) < 1e-3 * lp.tau_m_ms)
                        v.fail(mn, name, num(tau),
                               fmt::format("must differ from tau_m_ms = {} by at least 0.1 % (the exact solution "
                                           "divides by the difference) (ms)",
                                           num(lp.tau_m_ms)));
                };
                distinct("tau_e_ms", lp.tau_e_ms);
                distinct("tau_i_ms", lp.tau_i_ms);
                v.non_negative(mn, "t_ref_ms", lp.t_ref_ms, "ms");
                lif_voltages(v, mn, m.v_init_mv(), lp);
                ps.model = lp;
                break;
            }
            case proto::Population::kStochastic: {
                neuron = true;
                const auto& m = p.stochastic();
                Node mn = pn.child("stochastic", m);
                StochasticParams sp;
                if (m.has_tau_m_ms()) sp.tau_m_ms = m.tau_m_ms();
                if (m.has_v_rest_mv()) sp.v_rest_mV = m.v_rest_mv();
                sp.drive_mV = m.drive_mv();
                sp.drive_slope_mV_per_ms = m.drive_slope_mv_per_ms();
                sp.tau_syn_ms = m.tau_syn_ms();
                sp.noise_sigma_mV = m.noise_sigma_mv();
                if (m.has_rho_max_hz()) sp.rho_max_hz = m.rho_max_hz();
                if (m.has_beta_per_mv()) sp.beta_per_mV = m.beta_per_mv();
                if (m.has_theta_mv()) sp.theta_mV = m.theta_mv();
                if (m.has_v_reset_mv()) sp.v_reset_mV = m.v_reset_mv();
                sp.t_ref_ms = m.t_ref_ms();
                sp.rate_function = m.rate_function() == proto::HARD_SIGMOID ? RateFunction::HardSigmoid
                                                                            : RateFunction::Sigmoid;
                v.positive(mn, "tau_m_ms", sp.tau_m_ms, "ms");
                v.finite(mn, "v_rest_mV", sp.v_rest_mV, "mV");
                v.finite(mn, "drive_mV", sp.drive_mV, "mV");
                v.finite(mn, "drive_slope_mV_per_ms", sp.drive_slope_mV_per_ms, "mV/ms");
                v.non_negative(mn, "tau_syn_ms", sp.tau_syn_ms, "ms");
                if (sp.tau_syn_ms > 0 && std::abs(sp.tau_syn_ms - sp.tau_m_ms) < 1e-9 * sp.tau_m_ms)
                    v.fail(mn, "tau_syn_ms", num(sp.tau_syn_ms),
                           "must differ from tau_m_ms (the exact solution needs distinct time constants) (ms)");
                v.non_negative(mn, "noise_sigma_mV", sp.noise_sigma_mV, "mV");
                v.positive(mn, "rho_max_hz", sp.rho_max_hz, "Hz");
                v.non_negative(mn, "beta_per_mV", sp.beta_per_mV, "1/mV");
                if (!proto::RateFunction_IsValid(m.rate_function()))
                    v.fail(mn, "rate_function", std::to_string(m.rate_function()), "must be SIGMOID or HARD_SIGMOID");
                else if (sp.rate_function == RateFunction::HardSigmoid && sp.beta_per_mV == 0.0)
                    v.fail(mn, "beta_per_mV", "0", "must be > 0 with HARD_SIGMOID: 1/beta is the width of the linear part (1/mV)");
                v.finite(mn, "theta_mV", sp.theta_mV, "mV");
                if (sp.v_reset_mV) v.finite(mn, "v_reset_mV", *sp.v_reset_mV, "mV");
                v.non_negative(mn, "t_ref_ms", sp.t_ref_ms, "ms");
                sp.v_init_mV = sp.v_rest_mV + sp.drive_mV;
                if (auto d = v.distribution(mn, "v_init_mV", m.v_init_mv(), "mV", false)) sp.v_init_mV = *d;
                ps.model = sp;
                break;
            }
            case proto::Population::kPoisson: {
                const auto& m = p.poisson();
                Node mn = pn.child("poisson", m);
                PoissonParams pp;
                pp.rate_hz = m.rate_hz();
                v.non_negative(mn, "rate_hz", pp.rate_hz, "Hz");
                pp.rate_slope_hz_per_s = m.rate_slope_hz_per_s();
                v.finite(mn, "rate_slope_hz_per_s", pp.rate_slope_hz_per_s, "Hz/s");
                if (m.rates_hz_size() > 0) {
                    if (static_cast<std::uint32_t>(m.rates_hz_size()) != p.size())
                        v.fail(mn, "rates_hz", "", fmt::format("has {} values: expected one per neuron, {}",
                                                               m.rates_hz_size(), p.size()));
                    if (pp.rate_hz != 0.0 || pp.rate_slope_hz_per_s != 0.0)
                        v.fail(mn, "rates_hz", "", "replaces rate_hz and rate_slope_hz_per_s: give those as 0");
                    for (int k = 0; k < m.rates_hz_size(); ++k) {
                        const double r = m.rates_hz(k);
                        if (!(std::isfinite(r) && r >= 0)) v.fail(mn, "rates_hz", num(r), "must be >= 0 (Hz)", k);
                        pp.rates_hz.push_back(r);
                    }
                }
                if (m.has_start_ms()) {
                    pp.start_ms = m.start_ms();
                    v.non_negative(mn, "start_ms", pp.start_ms, "ms");
                }
                if (m.has_stop_ms()) {
                    pp.stop_ms = m.stop_ms();
                    if (v.finite(mn, "stop_ms", pp.stop_ms, "ms") && !(pp.stop_ms > pp.start_ms))
                        v.fail(mn, "stop_ms", num(pp.stop_ms),
                               fmt::format("must be > start_ms = {} (ms)", num(pp.start_ms)));
                }
                ps.model = pp;
                break;
            }
            case proto::Population::kSpikeTimes: {
                const auto& m = p.spike_times();
                Node mn = pn.child("spike_times", m);
                SpikeTimesParams sp;
                sp.times_ms.resize(p.size());
                std::set<std::uint32_t> seen;
                for (int k = 0; k < m.train_size(); ++k) {
                    const auto& tr = m.train(k);
                    Node tn = mn.child("train", tr, k);
                    if (tr.neuron() >= p.size()) {
                        v.fail(tn, "neuron", std::to_string(tr.neuron()),
                               fmt::format("must be < size = {} (neuron index)", p.size()));
                        continue;
                    }
                    if (!seen.insert(tr.neuron()).second)
                        v.fail(tn, "neuron", std::to_string(tr.neuron()), "has a train already: give each neuron one train");
                    for (int j = 0; j < tr.t_ms_size(); ++j) {
                        double t = tr.t_ms(j);
                        if (!std::isfinite(t) || t < 0)
                            v.fail(tn, "t_ms", num(t), "must be a finite time >= 0 (ms)", j);
                        else
                            sp.times_ms[tr.neuron()].push_back(t);
                    }
                }
                ps.model = sp;
                break;
            }
        }
        is_neuron.push_back(neuron);
        out.populations.push_back(std::move(ps));
    }
    if (total >= 0xffffffffull) v.fail(root, "population", std::to_string(total), "the total neuron count must be < 2^32");

    auto lookup = [&](const Node& n, const char* field, const std::string& name, bool need_neuron,
                      int index = -1) -> std::optional<std::size_t> {
        auto it = pop_index.find(name);
        if (it == pop_index.end()) {
            std::string known;
            for (const auto& [k, _] : pop_index) known += (known.empty() ? "" : ", ") + k;
            v.fail(n, field, fmt::format("\"{}\"", name), fmt::format("no such population (known: {})", known), index);
            return std::nullopt;
        }
        if (need_neuron && !is_neuron[it->second]) {
            v.fail(n, field, fmt::format("\"{}\"", name), "must be a neuron population (lif_delta, lif_exp or stochastic), not a spike source",
                   index);
            return std::nullopt;
        }
        return it->second;
    };

    // ---- projections
    std::set<std::string> proj_names;
    // A transposed projection: everything but its delays comes from its partner.
    auto transpose = [&](const Node& pn, const proto::Projection& p, ProjectionSpec& js) {
        const std::string quoted = fmt::format("\"{}\"", p.transpose_of());
        js.transpose_of = p.transpose_of();
        const ProjectionSpec* partner = nullptr;
        for (const auto& q : out.projections)
            if (q.name == p.transpose_of()) partner = &q;
        if (partner == nullptr) {
            v.fail(pn, "transpose_of", quoted, "no such projection before this one (a transpose follows its partner)");
            return;
        }
        if (!partner->transpose_of.empty())
            v.fail(pn, "transpose_of", quoted, "is itself a transpose: name the original projection");
        for (const auto& q : out.projections)
            if (q.transpose_of == p.transpose_of())
                v.fail(pn, "transpose_of", quoted, fmt::format("already has a transpose, \"{}\"", q.name));
        if (p.source() != partner->target || p.target() != partner->source)
            v.fail(pn, "transpose_of", quoted,
                   fmt::format("is {} -> {}: a transpose must be {} -> {} (source and target swapped)", partner->source,
                               partner->target, partner->target, partner->source));
        const char* inherited[] = {"source_neurons", "target_neurons", "weight_mV", "allow_autapses", "plasticity"};
        for (const char* f : inherited)
            if (p.GetReflection()->HasField(p, pn.field(f)))
                v.fail(pn, f, "", "must not be set on a transpose: it is the partner's (swapped)");
        if (p.connectivity_case() != proto::Projection::CONNECTIVITY_NOT_SET)
            v.fail_node(pn, "a transpose has no connectivity of its own: it reverses its partner's pairs");
        if (partner->plasticity && !std::holds_alternative<VoltageSlopeParams>(partner->plasticity->rule))
            v.fail(pn, "transpose_of", quoted,
                   "has a spike-pair rule: a shared weight supports no plasticity or voltage_slope only");
        js.source_range = partner->target_range;
        js.target_range = partner->source_range;
        js.allow_autapses = partner->allow_autapses;
        js.plasticity = partner->plasticity;
        js.connectivity = partner->connectivity;
        if (auto d = v.distribution(pn, "delay_ms", p.delay_ms(), "ms", true, time.resolution_ms(), resolution))
            js.delay_ms = *d;
        js.dendritic_delay_ms = p.dendritic_delay_ms();
        v.non_negative(pn, "dendritic_delay_ms", p.dendritic_delay_ms(), "ms");
        out.projections.push_back(std::move(js));
    };
    for (int i = 0; i < spec.projection_size(); ++i) {
        const auto& p = spec.projection(i);
        ProjectionSpec js;
        js.name = p.name().empty() ? p.source() + "->" + p.target() : p.name();
        Node pn = root.named("projection", p, i, js.name);
        if (!p.name().empty() && !valid_name(p.name()))
            v.fail(pn, "name", fmt::format("\"{}\"", p.name()), kNameRule);
        else if (!proj_names.insert(js.name).second)
            v.fail(pn, "name", fmt::format("\"{}\"", js.name),
                   "must be unique: another projection has this name (set name to tell them apart)");
        js.source = p.source();
        js.target = p.target();
        auto s = lookup(pn, "source", p.source(), false);
        // A spike source may be the target of a spike-pair rule: it ignores the
        // input, and its spikes are the postsynaptic train the rule sees.
        const bool pair_rule = p.has_plasticity() && (p.plasticity().has_pair_stdp() || p.plasticity().has_triplet_stdp() ||
                                                      p.plasticity().has_rate_slope());
        auto t = lookup(pn, "target", p.target(), !pair_rule);
        if (!p.transpose_of().empty()) {
            transpose(pn, p, js);
            continue;
        }
        js.allow_autapses = p.allow_autapses();
        std::uint32_t ns = 0, nt = 0;
        auto range = [&](const char* field, const proto::NeuronRange& r, std::uint32_t size) -> std::optional<NeuronRange> {
            Node rn2 = pn.child(field, r);
            if (!(r.end() > r.begin()))
                v.fail(rn2, "end", std::to_string(r.end()), fmt::format("must be > begin = {} (neuron index)", r.begin()));
            else if (r.end() > size)
                v.fail(rn2, "end", std::to_string(r.end()), fmt::format("must be <= the population size {} (neuron index)", size));
            return NeuronRange{r.begin(), r.end()};
        };
        if (s) {
            ns = out.populations[*s].size;
            if (p.has_source_neurons()) {
                js.source_range = range("source_neurons", p.source_neurons(), ns);
                ns = js.source_range->end > js.source_range->begin ? js.source_range->end - js.source_range->begin : 0;
            }
        }
        if (t) {
            nt = out.populations[*t].size;
            if (p.has_target_neurons()) {
                js.target_range = range("target_neurons", p.target_neurons(), nt);
                nt = js.target_range->end > js.target_range->begin ? js.target_range->end - js.target_range->begin : 0;
            }
        }
        const bool sizes_known = s && t;
        bool explicit_pairs = false;
        switch (p.connectivity_case()) {
            case proto::Projection::CONNECTIVITY_NOT_SET:
                v.fail_node(pn, "no connectivity: expected one of all_to_all, one_to_one, fixed_probability, "
                                "fixed_indegree, explicit");
                break;
            case proto::Projection::kAllToAll: js.connectivity = AllToAll{}; break;
            case proto::Projection::kOneToOne:
                if (sizes_known && ns != nt)
                    v.fail(pn, "one_to_one", "",
                           fmt::format("needs equal source and target sizes, got {} and {} (neurons)", ns, nt));
                js.connectivity = OneToOne{};
                break;
            case proto::Projection::kFixedProbability: {
                double pr = p.fixed_probability().p();
                Node cn = pn.child("fixed_probability", p.fixed_probability());
                if (!(pr >= 0 && pr <= 1)) v.fail(cn, "p", num(pr), "must be a probability in [0, 1]");
                js.connectivity = FixedProbability{pr};
                break;
            }
            case proto::Projection::kFixedIndegree: {
                std::uint32_t k = p.fixed_indegree().indegree();
                Node cn = pn.child("fixed_indegree", p.fixed_indegree());
                std::uint32_t pool = ns;
                bool self = false;
                if (sizes_known && *s == *t && !p.allow_autapses()) {
                    // Autapses excluded: a target inside the source range has one source fewer.
                    NeuronRange sr = js.source_range.value_or(NeuronRange{0, out.populations[*s].size});
                    NeuronRange tr = js.target_range.value_or(NeuronRange{0, out.populations[*t].size});
                    self = std::max(sr.begin, tr.begin) < std::min(sr.end, tr.end);
                    if (self && pool > 0) pool -= 1;
                }
                if (sizes_known && k > pool)
                    v.fail(cn, "indegree", std::to_string(k),
                           fmt::format("must be <= {} (distinct sources available{})", pool,
                                       self ? ", autapses excluded" : ""));
                js.connectivity = FixedIndegree{k};
                break;
            }
            case proto::Projection::kExplicit: {
                explicit_pairs = true;
                ExplicitPairs ep;
                Node cn = pn.child("explicit", p.explicit_());
                for (int k = 0; k < p.explicit_().pair_size(); ++k) {
                    const auto& pr = p.explicit_().pair(k);
                    Node prn = cn.child("pair", pr, k);
                    ExplicitPair e{pr.pre(), pr.post(), std::nullopt, std::nullopt};
                    if (sizes_known && pr.pre() >= ns)
                        v.fail(prn, "pre", std::to_string(pr.pre()), fmt::format("must be < {} (source neurons)", ns));
                    if (sizes_known && pr.post() >= nt)
                        v.fail(prn, "post", std::to_string(pr.post()), fmt::format("must be < {} (target neurons)", nt));
                    if (pr.has_weight_mv() && v.finite(prn, "weight_mV", pr.weight_mv(), "mV")) e.weight_mV = pr.weight_mv();
                    if (pr.has_delay_ms()) {
                        if (v.finite(prn, "delay_ms", pr.delay_ms(), "ms") && !(pr.delay_ms() >= time.resolution_ms()))
                            v.fail(prn, "delay_ms", num(pr.delay_ms()), fmt::format("must be >= {} (ms)", resolution));
                        e.delay_ms = pr.delay_ms();
                    }
                    ep.pairs.push_back(e);
                }
                js.connectivity = std::move(ep);
                break;
            }
        }
        // With explicit pairs that all carry their own values the projection-wide ones are optional.
        bool all_w = explicit_pairs, all_d = explicit_pairs;
        for (int k = 0; explicit_pairs && k < p.explicit_().pair_size(); ++k) {
            all_w = all_w && p.explicit_().pair(k).has_weight_mv();
            all_d = all_d && p.explicit_().pair(k).has_delay_ms();
        }
        if (auto d = v.distribution(pn, "weight_mV", p.weight_mv(), "mV", !all_w)) js.weight_mV = *d;
        if (auto d = v.distribution(pn, "delay_ms", p.delay_ms(), "ms", !all_d, time.resolution_ms(), resolution))
            js.delay_ms = *d;
        js.dendritic_delay_ms = p.dendritic_delay_ms();
        v.non_negative(pn, "dendritic_delay_ms", p.dendritic_delay_ms(), "ms");
        if (p.has_plasticity()) js.plasticity = plasticity(pn.child("plasticity", p.plasticity()), p.plasticity(), js, time.resolution_ms(), v);
        out.projections.push_back(std::move(js));
    }

    // ---- recorders
    const auto& rec = spec.record();
    Node rc = root.child("record", rec);
    std::set<std::string> recorded;
    for (int i = 0; i < rec.spikes_size(); ++i) {
        if (!lookup(rc, "spikes", rec.spikes(i), false, i)) continue;
        if (!recorded.insert(rec.spikes(i)).second)
            v.fail(rc, "spikes", fmt::format("\"{}\"", rec.spikes(i)), "is listed twice", i);
        out.record.spike_populations.push_back(rec.spikes(i));
    }
    for (int i = 0; i < rec.weights_size(); ++i) {
        const auto& wp = rec.weights(i);
        Node wn = rc.child("weights", wp, i);
        WeightProbeSpec ps{wp.projection(), {}, wp.interval_ms()};
        const ProjectionSpec* pj = nullptr;
        for (const auto& q : out.projections)
            if (q.name == wp.projection()) pj = &q;
        if (pj == nullptr) {
            std::string known;
            for (const auto& q : out.projections) known += (known.empty() ? "" : ", ") + q.name;
            v.fail(wn, "projection", fmt::format("\"{}\"", wp.projection()),
                   fmt::format("no such projection (known: {})", known.empty() ? "none" : known));
        }
        for (int k = 0; k < wp.synapse_size(); ++k) {
            const auto& sp = wp.synapse(k);
            Node sn = wn.child("synapse", sp, k);
            if (pj != nullptr && pop_index.count(pj->source) && sp.pre() >= out.populations[pop_index[pj->source]].size)
                v.fail(sn, "pre", std::to_string(sp.pre()),
                       fmt::format("must be < the size of \"{}\" (neuron index)", pj->source));
            if (pj != nullptr && pop_index.count(pj->target) && sp.post() >= out.populations[pop_index[pj->target]].size)
                v.fail(sn, "post", std::to_string(sp.post()),
                       fmt::format("must be < the size of \"{}\" (neuron index)", pj->target));
            ps.pairs.emplace_back(sp.pre(), sp.post());
        }
        if (v.finite(wn, "interval_ms", wp.interval_ms(), "ms") && !(wp.interval_ms() >= time.resolution_ms()))
            v.fail(wn, "interval_ms", num(wp.interval_ms()), fmt::format("must be >= {} (ms)", resolution));
        out.record.weights.push_back(std::move(ps));
    }
    for (int i = 0; i < rec.voltage_size(); ++i) {
        const auto& vp = rec.voltage(i);
        Node vn = rc.child("voltage", vp, i);
        VoltageProbeSpec ps{vp.population(), {}, vp.interval_ms()};
        auto p = lookup(vn, "population", vp.population(), true);
        for (int k = 0; k < vp.neuron_size(); ++k) {
            if (p && vp.neuron(k) >= out.populations[*p].size)
                v.fail(vn, "neuron", std::to_string(vp.neuron(k)),
                       fmt::format("must be < the population size {} (neuron index)", out.populations[*p].size), k);
            ps.neurons.push_back(vp.neuron(k));
        }
        if (v.finite(vn, "interval_ms", vp.interval_ms(), "ms") && !(vp.interval_ms() >= time.resolution_ms()))
            v.fail(vn, "interval_ms", num(vp.interval_ms()),
                   fmt::format("must be >= the resolution {} (ms)", num(time.resolution_ms())));
        out.record.voltages.push_back(std::move(ps));
    }
    for (int i = 0; i < rec.rate_size(); ++i) {
        const auto& rp = rec.rate(i);
        Node rn = rc.child("rate", rp, i);
        RateProbeSpec ps;
        ps.population = rp.population();
        ps.interval_ms = rp.interval_ms();
        // Spike counts and traces work for any population; the model's rate needs a model that has one.
        auto p = lookup(rn, "population", rp.population(), false);
        for (int k = 0; k < rp.neuron_size(); ++k) {
            if (p && rp.neuron(k) >= out.populations[*p].size)
                v.fail(rn, "neuron", std::to_string(rp.neuron(k)),
                       fmt::format("must be < the population size {} (neuron index)", out.populations[*p].size), k);
            ps.neurons.push_back(rp.neuron(k));
        }
        if (v.finite(rn, "interval_ms", rp.interval_ms(), "ms") && !(rp.interval_ms() >= time.resolution_ms()))
            v.fail(rn, "interval_ms", num(rp.interval_ms()),
                   fmt::format("must be >= the resolution {} (ms)", num(time.resolution_ms())));
        const std::string readout = proto::RateProbe::Readout_Name(rp.readout());
        switch (rp.readout()) {
            case proto::RateProbe::COUNT: ps.readout = RateReadout::Count; break;
            case proto::RateProbe::EXP: ps.readout = RateReadout::Exp; break;
            case proto::RateProbe::MODEL: ps.readout = RateReadout::Model; break;
            default:
                v.fail(rn, "readout", std::to_string(rp.readout()), "unknown readout: expected COUNT, EXP or MODEL");
                out.record.rates.push_back(std::move(ps));
                continue;
        }
        if (ps.readout == RateReadout::Model && p && !std::holds_alternative<StochasticParams>(out.populations[*p].model)) {
            static const char* const kModels[] = {"lif_delta", "poisson", "spike_times", "stochastic", "lif_exp"};
            v.fail(rn, "readout", readout,
                   fmt::format("needs a model with its own rate rho(V) (stochastic); population \"{}\" is {}",
                               rp.population(), kModels[out.populations[*p].model.index()]));
        }
        if (ps.readout == RateReadout::Count) {
            if (!rp.has_window_ms())
                v.fail(rn, "window_ms", "",
                       fmt::format("missing: COUNT needs a window >= the resolution {} (ms)", num(time.resolution_ms())));
            else if (v.finite(rn, "window_ms", rp.window_ms(), "ms") && !(rp.window_ms() >= time.resolution_ms()))
                v.fail(rn, "window_ms", num(rp.window_ms()),
                       fmt::format("must be >= the resolution {} (ms)", num(time.resolution_ms())));
            if (rp.has_window_ms()) ps.window_ms = rp.window_ms();
        } else if (rp.has_window_ms()) {
            v.fail(rn, "window_ms", num(rp.window_ms()), fmt::format("is only used by readout COUNT, not {} (ms)", readout));
        }
        if (ps.readout == RateReadout::Exp) {
            if (!rp.has_tau_ms())
                v.fail(rn, "tau_ms", "", "missing: EXP needs a time constant > 0 (ms)");
            else
                v.positive(rn, "tau_ms", rp.tau_ms(), "ms");
            if (rp.has_tau_ms()) ps.tau_ms = rp.tau_ms();
        } else if (rp.has_tau_ms()) {
            v.fail(rn, "tau_ms", num(rp.tau_ms()), fmt::format("is only used by readout EXP, not {} (ms)", readout));
        }
        out.record.rates.push_back(std::move(ps));
    }
    // ---- objective
    auto energy_objective = [&](const Node& en, const proto::EnergyObjective& e) {
        EnergyObjectiveSpec eo{{e.layers().begin(), e.layers().end()},
                               {e.projections().begin(), e.projections().end()},
                               {e.target().begin(), e.target().end()},
                               e.beta(), e.free_ms(), e.nudge_ms(), e.symmetric()};
        const std::size_t L = eo.layers.size() - (eo.layers.empty() ? 0 : 1);
        if (L < 1) {
            v.fail(en, "layers", "", "needs at least two populations: the input and the output");
            return;
        }
        std::vector<std::optional<std::size_t>> pops;
        for (std::size_t k = 0; k <= L; ++k) pops.push_back(lookup(en, "layers", eo.layers[k], k > 0, static_cast<int>(k)));
        const auto quoted = [](const std::string& x) { return fmt::format("\"{}\"", x); };
        if (pops[0]) {
            const auto* pp = std::get_if<PoissonParams>(&out.populations[*pops[0]].model);
            if (pp == nullptr || pp->rate_slope_hz_per_s != 0.0 || pp->start_ms != 0.0 || std::isfinite(pp->stop_ms))
                v.fail(en, "layers", quoted(eo.layers[0]),
                       "the input layer must be a poisson population with constant rates (no slope, start or stop)", 0);
        }
        const StochasticParams* first = nullptr;
        for (std::size_t k = 1; k <= L; ++k) {
            if (!pops[k]) continue;
            const auto* st = std::get_if<StochasticParams>(&out.populations[*pops[k]].model);
            if (st == nullptr || st->rate_function != RateFunction::HardSigmoid || st->v_reset_mV || st->t_ref_ms != 0.0 ||
                st->tau_syn_ms != 0.0 || st->drive_slope_mV_per_ms != 0.0) {
                v.fail(en, "layers", quoted(eo.layers[k]),
                       "a free layer must be a stochastic population with rate_function HARD_SIGMOID, voltage jumps "
                       "(tau_syn_ms 0), no reset, no t_ref_ms and no drive ramp",
                       static_cast<int>(k));
                continue;
            }
            if (first == nullptr) first = st;
            else if (st->tau_m_ms != first->tau_m_ms || st->rho_max_hz != first->rho_max_hz ||
                     st->beta_per_mV != first->beta_per_mV || st->theta_mV != first->theta_mV)
                v.fail(en, "layers", quoted(eo.layers[k]),
                       "all free layers must share tau_m_ms, rho_max_hz, beta_per_mV and theta_mV (one rate network)",
                       static_cast<int>(k));
        }
        if (pops[0] && first) {
            const auto& pp = std::get<PoissonParams>(out.populations[*pops[0]].model);
            for (std::uint32_t i = 0; i < out.populations[*pops[0]].size; ++i) {
                const double r = pp.rates_hz.empty() ? pp.rate_hz : pp.rates_hz[i];
                if (r > first->rho_max_hz) {
                    v.fail(en, "layers", quoted(eo.layers[0]),
                           fmt::format("input rate {} Hz (neuron {}) exceeds rho_max_hz = {}: x = rate / rho_max must be "
                                       "in [0, 1]", num(r), i, num(first->rho_max_hz)), 0);
                    break;
                }
            }
        }
        auto find_proj = [&](const std::string& name) -> const ProjectionSpec* {
            for (const auto& q : out.projections)
                if (q.name == name) return &q;
            return nullptr;
        };
        if (eo.projections.size() != L)
            v.fail(en, "projections", "", fmt::format("has {} names: expected {}, one per pair of consecutive layers",
                                                      eo.projections.size(), L));
        double window = 0.0;
        for (std::size_t k = 0; k < std::min(L, eo.projections.size()); ++k) {
            const ProjectionSpec* pj = find_proj(eo.projections[k]);
            const int at = static_cast<int>(k);
            if (pj == nullptr) {
                v.fail(en, "projections", quoted(eo.projections[k]), "no such projection", at);
                continue;
            }
            if (pj->source != eo.layers[k] || pj->target != eo.layers[k + 1] || !pj->transpose_of.empty() ||
                !std::holds_alternative<AllToAll>(pj->connectivity) || pj->source_range || pj->target_range ||
                !pj->plasticity || !std::holds_alternative<VoltageSlopeParams>(pj->plasticity->rule) ||
                !std::holds_alternative<double>(pj->delay_ms) || pj->dendritic_delay_ms != 0.0)
                v.fail(en, "projections", quoted(eo.projections[k]),
                       fmt::format("must be the all_to_all projection {} -> {} with voltage_slope plasticity, a constant "
                                   "delay_ms and no dendritic delay", eo.layers[k], eo.layers[k + 1]), at);
            else
                window = std::max(window, std::get<VoltageSlopeParams>(pj->plasticity->rule).window_ms);
            if (k == 0) continue;
            const ProjectionSpec* back = nullptr;
            for (const auto& q : out.projections)
                if (q.transpose_of == eo.projections[k]) back = &q;
            if (back == nullptr)
                v.fail(en, "projections", quoted(eo.projections[k]),
                       "needs a transpose (a projection with transpose_of: this name): the symmetric feedback", at);
            else if (!std::holds_alternative<double>(back->delay_ms) || back->dendritic_delay_ms != 0.0)
                v.fail(en, "projections", quoted(eo.projections[k]),
                       fmt::format("its transpose \"{}\" must have a constant delay_ms and no dendritic delay", back->name), at);
        }
        if (pops[L] && eo.target.size() != out.populations[*pops[L]].size)
            v.fail(en, "target", "", fmt::format("has {} values: expected one per output neuron, {}", eo.target.size(),
                                                 out.populations[*pops[L]].size));
        for (std::size_t j = 0; j < eo.target.size(); ++j)
            if (!(eo.target[j] >= 0.0 && eo.target[j] <= 1.0))
                v.fail(en, "target", num(eo.target[j]), "must be in [0, 1] (a rate over rho_max)", static_cast<int>(j));
        if (!(eo.beta > 0.0 && eo.beta < 1.0)) v.fail(en, "beta", num(eo.beta), "must be in (0, 1) (dimensionless)");
        v.positive(en, "free_ms", eo.free_ms, "ms");
        if (!(std::isfinite(eo.nudge_ms) && eo.nudge_ms > 0 && eo.nudge_ms >= window))
            v.fail(en, "nudge_ms", num(eo.nudge_ms), fmt::format("must be > 0 and >= the rules' window {} (ms)", num(window)));
        out.objective = ObjectiveSpec{eo};
    };
    if (spec.has_objective()) {
        const auto& ob = spec.objective();
        Node on = root.child("objective", ob);
        if (ob.has_energy()) {
            energy_objective(on.child("energy", ob.energy()), ob.energy());
        } else if (!ob.has_supervised() && !ob.has_gaussian_layer()) {
            v.fail_node(on, "no kind: expected supervised, gaussian_layer or energy");
        } else {
            const bool gaussian = ob.has_gaussian_layer();
            const auto& su = gaussian ? ob.gaussian_layer() : ob.supervised();
            Node sn = on.child(gaussian ? "gaussian_layer" : "supervised", su);
            SupervisedObjectiveSpec so{su.input(), su.output(), su.projection(),
                                       {su.target_mv().begin(), su.target_mv().end()}, su.nudge_per_ms(),
                                       su.free_ms(), su.nudge_ms(), gaussian, su.sigma_mv()};
            if (gaussian && !(std::isfinite(so.sigma_mV) && so.sigma_mV > 0))
                v.fail(sn, "sigma_mV", num(so.sigma_mV), "must be > 0 (mV)");
            auto in = lookup(sn, "input", su.input(), false);
            auto outp = lookup(sn, "output", su.output(), true);
            if (in && !std::holds_alternative<PoissonParams>(out.populations[*in].model))
                v.fail(sn, "input", fmt::format("\"{}\"", su.input()), "must be a poisson population");
            else if (in && std::get<PoissonParams>(out.populations[*in].model).rate_slope_hz_per_s != 0.0)
                v.fail(sn, "input", fmt::format("\"{}\"", su.input()), "must have constant rates (no rate slope)");
            if (outp) {
                const auto* st = std::get_if<StochasticParams>(&out.populations[*outp].model);
                if (st == nullptr)
                    v.fail(sn, "output", fmt::format("\"{}\"", su.output()), "must be a stochastic population");
                else if (st->v_reset_mV || st->drive_slope_mV_per_ms != 0.0)
                    v.fail(sn, "output", fmt::format("\"{}\"", su.output()),
                           "must have no reset and no drive ramp (V must be linear in the inputs)");
                if (static_cast<std::uint32_t>(su.target_mv_size()) != out.populations[*outp].size)
                    v.fail(sn, "target_mV", "", fmt::format("has {} values: expected one per output neuron, {}",
                                                            su.target_mv_size(), out.populations[*outp].size));
            }
            const ProjectionSpec* pj = nullptr;
            for (const auto& q : out.projections)
                if (q.name == su.projection()) pj = &q;
            if (pj == nullptr)
                v.fail(sn, "projection", fmt::format("\"{}\"", su.projection()), "no such projection");
            else if (pj->source != su.input() || pj->target != su.output() ||
                     !std::holds_alternative<AllToAll>(pj->connectivity) || !pj->plasticity ||
                     !std::holds_alternative<VoltageSlopeParams>(pj->plasticity->rule) || pj->source_range ||
                     pj->target_range)
                v.fail(sn, "projection", fmt::format("\"{}\"", su.projection()),
                       "must be the all_to_all projection from input to output, with voltage_slope plasticity");
            if (!(std::isfinite(so.nudge_per_ms) && so.nudge_per_ms > 0))
                v.fail(sn, "nudge_per_ms", num(so.nudge_per_ms), "must be > 0 (1/ms)");
            v.positive(sn, "free_ms", so.free_ms, "ms");
            double window = 0.0;
            if (pj && pj->plasticity)
                if (auto* vs = std::get_if<VoltageSlopeParams>(&pj->plasticity->rule)) window = vs->window_ms;
            if (!(std::isfinite(so.nudge_ms) && so.nudge_ms > 0 && so.nudge_ms >= window))
                v.fail(sn, "nudge_ms", num(so.nudge_ms), fmt::format("must be > 0 and >= the rule's window {} (ms)", num(window)));
            out.objective = ObjectiveSpec{so};
        }
    }
    return out;
}

void apply(proto::Spec& spec, const SpecOverrides& o) {
    if (o.seed) spec.mutable_run()->set_seed(*o.seed);
    if (o.duration_ms) spec.mutable_run()->set_duration_ms(*o.duration_ms);
}

std::string hash_of(const proto::Spec& spec) {
    std::string bytes;
    {
        pb::io::StringOutputStream sos(&bytes);
        pb::io::CodedOutputStream cos(&sos);
        cos.SetSerializationDeterministic(true);
        spec.SerializeToCodedStream(&cos);
    }
    return fmt::format("fnv1a64:{:016x}", stable_hash(bytes));
}

LoadedSpec finish(proto::Spec& spec, const ParseInfoTree* tree, const std::string& origin, const SpecOverrides& o) {
    apply(spec, o);
    Validator v(origin);
    NetworkSpec ns = validate_and_convert(spec, tree, o, v);
    if (!v.errors().empty()) {
        std::string msg;
        for (const auto& e : v.errors()) msg += (msg.empty() ? "" : "\n") + e;
        throw SpecError(msg);
    }
    return LoadedSpec{std::move(ns), hash_of(spec), origin};
}

}  // namespace

LoadedSpec load_spec_text(const std::string& text, const std::string& origin, const SpecOverrides& overrides) {
    proto::Spec spec;
    ParseInfoTree tree;
    ParseErrors errors(origin);
    pb::TextFormat::Parser parser;
    parser.RecordErrorsTo(&errors);
    parser.WriteLocationsTo(&tree);
    // Warnings count as errors: nothing in a spec passes silently.
    if (!parser.ParseFromString(text, &spec) || !errors.lines_.empty()) {
        std::string msg;
        for (const auto& e : errors.lines_) msg += (msg.empty() ? "" : "\n") + e;
        if (msg.empty()) msg = origin + ": not a valid spikeem spec in text format";
        throw SpecError(msg);
    }
    return finish(spec, &tree, origin, overrides);
}

LoadedSpec load_spec_file(const std::string& path, const SpecOverrides& overrides) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw SpecError(fmt::format("{}: cannot open the spec file: {}", path, std::strerror(errno)));
    std::stringstream buf;
    buf << in.rdbuf();
    std::string data = buf.str();
    auto ends_with = [&](const std::string& suffix) {
        return path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (ends_with(".pb") || ends_with(".binpb")) {
        proto::Spec spec;
        if (!spec.ParseFromString(data))
            throw SpecError(fmt::format("{}: not a valid binary spikeem spec (files ending in .pb or .binpb are read "
                                        "as binary protobuf; use .pbtxt for text format)",
                                        path));
        return finish(spec, nullptr, path, overrides);
    }
    return load_spec_text(data, path, overrides);
}

}  // namespace spikeem::io
