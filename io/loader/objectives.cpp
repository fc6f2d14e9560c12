// The objective section: a supervised (or gaussian_layer) objective on one
// projection, or an energy objective over a chain of layers.  Each checks that
// the populations and projections it names have the shape its gradient
// estimate assumes.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "io/loader/sections.hpp"

namespace spikeem::io::loader {
namespace {

std::string quoted(const std::string& x) { return fmt::format("\"{}\"", x); }

const ProjectionSpec* find_projection(const NetworkSpec& out, const std::string& name) {
    for (const auto& q : out.projections)
        if (q.name == name) return &q;
    return nullptr;
}

// The layers of an energy objective (at least two): a poisson input with
// constant rates within [0, rho_max], then stochastic layers that form one
// rate network.  pops[k]: layer k's population when its name resolves.
void energy_layers(const EnergyObjectiveSpec& eo, const std::vector<std::optional<std::size_t>>& pops, const Node& en,
                   Validator& v, const NetworkSpec& out) {
    const std::size_t L = eo.layers.size() - 1;
    if (pops[0]) {
        const auto* pp = std::get_if<PoissonParams>(&out.populations[*pops[0]].model);
        if (pp == nullptr || pp->rate_slope_hz_per_s != 0.0 || pp->start_ms != 0.0 || std::isfinite(pp->stop_ms) ||
            !pp->rate_table.t_ms.empty())
            v.fail(en, "layers", quoted(eo.layers[0]),
                   "the input layer must be a poisson population with constant rates (no slope, rate table, start or stop)",
                   0);
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
    const auto* pp = pops[0] ? std::get_if<PoissonParams>(&out.populations[*pops[0]].model) : nullptr;
    if (pp != nullptr && first != nullptr) {
        // A rates_hz list of the wrong length was reported by the population's own check: look
        // only at the rates that exist.
        const std::size_t size = out.populations[*pops[0]].size;
        const std::size_t n = pp->rates_hz.empty() ? size : std::min(size, pp->rates_hz.size());
        for (std::size_t i = 0; i < n; ++i) {
            const double r = pp->rates_hz.empty() ? pp->rate_hz : pp->rates_hz[i];
            if (r > first->rho_max_hz) {
                v.fail(en, "layers", quoted(eo.layers[0]),
                       fmt::format("input rate {} Hz (neuron {}) exceeds rho_max_hz = {}: x = rate / rho_max must be "
                                   "in [0, 1]", num(r), i, num(first->rho_max_hz)), 0);
                break;
            }
        }
    }
}

// The projections of an energy objective: one all_to_all voltage_slope
// projection per pair of consecutive layers, each but the first with a
// transpose as its feedback.  Returns the longest rule window among them.
double energy_projections(const EnergyObjectiveSpec& eo, const Node& en, Validator& v, const NetworkSpec& out) {
    const std::size_t L = eo.layers.size() - 1;
    if (eo.projections.size() != L)
        v.fail(en, "projections", "", fmt::format("has {} names: expected {}, one per pair of consecutive layers",
                                                  eo.projections.size(), L));
    double window = 0.0;
    for (std::size_t k = 0; k < std::min(L, eo.projections.size()); ++k) {
        const ProjectionSpec* pj = find_projection(out, eo.projections[k]);
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
    return window;
}

void energy(const proto::EnergyObjective& e, const Node& en, const PopulationIndex& pops, Validator& v,
            NetworkSpec& out) {
    EnergyObjectiveSpec eo{{e.layers().begin(), e.layers().end()},
                           {e.projections().begin(), e.projections().end()},
                           {e.target().begin(), e.target().end()},
                           e.beta(), e.free_ms(), e.nudge_ms(), e.symmetric()};
    const std::size_t L = eo.layers.size() - (eo.layers.empty() ? 0 : 1);
    if (L < 1) {
        v.fail(en, "layers", "", "needs at least two populations: the input and the output");
        return;
    }
    std::vector<std::optional<std::size_t>> layer_pops;
    for (std::size_t k = 0; k <= L; ++k)
        layer_pops.push_back(pops.lookup(v, en, "layers", eo.layers[k], k > 0, static_cast<int>(k)));
    energy_layers(eo, layer_pops, en, v, out);
    const double window = energy_projections(eo, en, v, out);
    if (layer_pops[L] && eo.target.size() != out.populations[*layer_pops[L]].size)
        v.fail(en, "target", "", fmt::format("has {} values: expected one per output neuron, {}", eo.target.size(),
                                             out.populations[*layer_pops[L]].size));
    for (std::size_t j = 0; j < eo.target.size(); ++j)
        if (!(eo.target[j] >= 0.0 && eo.target[j] <= 1.0))
            v.fail(en, "target", num(eo.target[j]), "must be in [0, 1] (a rate over rho_max)", static_cast<int>(j));
    if (!(eo.beta > 0.0 && eo.beta < 1.0)) v.fail(en, "beta", num(eo.beta), "must be in (0, 1) (dimensionless)");
    v.positive(en, "free_ms", eo.free_ms, "ms");
    if (!(std::isfinite(eo.nudge_ms) && eo.nudge_ms > 0 && eo.nudge_ms >= window))
        v.fail(en, "nudge_ms", num(eo.nudge_ms), fmt::format("must be > 0 and >= the rules' window {} (ms)", num(window)));
    out.objective = ObjectiveSpec{eo};
}

// supervised and gaussian_layer share their message; gaussian_layer adds sigma_mV.
void supervised(const proto::SupervisedObjective& su, const Node& sn, bool gaussian, const PopulationIndex& pops,
                Validator& v, NetworkSpec& out) {
    SupervisedObjectiveSpec so{su.input(), su.output(), su.projection(),
                               {su.target_mv().begin(), su.target_mv().end()}, su.nudge_per_ms(),
                               su.free_ms(), su.nudge_ms(), gaussian, su.sigma_mv()};
    if (gaussian && !(std::isfinite(so.sigma_mV) && so.sigma_mV > 0))
        v.fail(sn, "sigma_mV", num(so.sigma_mV), "must be > 0 (mV)");
    auto in = pops.lookup(v, sn, "input", su.input(), false);
    auto outp = pops.lookup(v, sn, "output", su.output(), true);
    if (in && !std::holds_alternative<PoissonParams>(out.populations[*in].model))
        v.fail(sn, "input", quoted(su.input()), "must be a poisson population");
    else if (in && std::get<PoissonParams>(out.populations[*in].model).rate_slope_hz_per_s != 0.0)
        v.fail(sn, "input", quoted(su.input()), "must have constant rates (no rate slope)");
    if (outp) {
        const auto* st = std::get_if<StochasticParams>(&out.populations[*outp].model);
        if (st == nullptr)
            v.fail(sn, "output", quoted(su.output()), "must be a stochastic population");
        else if (st->v_reset_mV || st->drive_slope_mV_per_ms != 0.0)
            v.fail(sn, "output", quoted(su.output()),
                   "must have no reset and no drive ramp (V must be linear in the inputs)");
        if (static_cast<std::uint32_t>(su.target_mv_size()) != out.populations[*outp].size)
            v.fail(sn, "target_mV", "", fmt::format("has {} values: expected one per output neuron, {}",
                                                    su.target_mv_size(), out.populations[*outp].size));
    }
    // Valid names are unique; with a duplicate (reported already) the last one is checked.
    const ProjectionSpec* pj = nullptr;
    for (const auto& q : out.projections)
        if (q.name == su.projection()) pj = &q;
    if (pj == nullptr)
        v.fail(sn, "projection", quoted(su.projection()), "no such projection");
    else if (pj->source != su.input() || pj->target != su.output() ||
             !std::holds_alternative<AllToAll>(pj->connectivity) || !pj->plasticity ||
             !std::holds_alternative<VoltageSlopeParams>(pj->plasticity->rule) || pj->source_range || pj->target_range)
        v.fail(sn, "projection", quoted(su.projection()),
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

}  // namespace

void load_objective(const proto::Objective& ob, const Node& on, const PopulationIndex& pops, Validator& v,
                    NetworkSpec& out) {
    if (ob.has_energy()) {
        energy(ob.energy(), on.child("energy", ob.energy()), pops, v, out);
    } else if (!ob.has_supervised() && !ob.has_gaussian_layer()) {
        v.fail_node(on, "no kind: expected supervised, gaussian_layer or energy");
    } else {
        const bool gaussian = ob.has_gaussian_layer();
        const auto& su = gaussian ? ob.gaussian_layer() : ob.supervised();
        supervised(su, on.child(gaussian ? "gaussian_layer" : "supervised", su), gaussian, pops, v, out);
    }
}

}  // namespace spikeem::io::loader
