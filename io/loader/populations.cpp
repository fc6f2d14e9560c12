// The population section: names, sizes and one function per model.  Adding a
// model: a function below that validates its message and returns its
// parameters, and its case in model().
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>
#include <type_traits>

#include "io/loader/sections.hpp"
#include "network/models/per_neuron.hpp"
#include "network/models/registry.hpp"

namespace spikeem::io::loader {

std::optional<std::size_t> PopulationIndex::find(const std::string& name) const {
    auto it = by_name.find(name);
    if (it == by_name.end()) return std::nullopt;
    return it->second;
}

std::optional<std::size_t> PopulationIndex::lookup(Validator& v, const Node& n, const char* field,
                                                   const std::string& name, bool need_neuron, int index) const {
    auto it = by_name.find(name);
    if (it == by_name.end()) {
        std::string known;
        for (const auto& [k, _] : by_name) known += (known.empty() ? "" : ", ") + k;
        v.fail(n, field, fmt::format("\"{}\"", name), fmt::format("no such population (known: {})", known), index);
        return std::nullopt;
    }
    if (need_neuron && !receives_input[it->second]) {
        v.fail(n, field, fmt::format("\"{}\"", name),
               "must be a neuron population (lif_delta, lif_exp, lif_cond_exp, stochastic or adex), not a spike source", index);
        return std::nullopt;
    }
    return it->second;
}

namespace {

// The voltages shared by the LIF models (LifDeltaParams, LifExpParams): finite,
// reset below threshold, every initial value below threshold (default: rest,
// or reset when rest is above threshold).
template <class Params>
void lif_voltages(Validator& v, const Node& mn, const proto::Distribution& v_init, Params& lp) {
    // `&`, not `&&`: each voltage is checked and reported on its own.
    bool volts = v.finite(mn, "v_rest_mV", lp.v_rest_mV, "mV") & v.finite(mn, "v_th_mV", lp.v_th_mV, "mV") &
                 v.finite(mn, "v_reset_mV", lp.v_reset_mV, "mV");
    if (volts && !(lp.v_reset_mV < lp.v_th_mV))
        v.fail(mn, "v_reset_mV", num(lp.v_reset_mV), fmt::format("must be < v_th_mV = {} (mV)", num(lp.v_th_mV)));
    lp.v_init_mV = lp.v_rest_mV < lp.v_th_mV ? lp.v_rest_mV : lp.v_reset_mV;
    if (auto d = v.distribution(mn, "v_init_mV", v_init, "mV", false)) {
        lp.v_init_mV = *d;
        double hi = support(*d).second;
        bool exclusive = std::holds_alternative<UniformDist>(*d);
        if (volts && (exclusive ? hi > lp.v_th_mV : hi >= lp.v_th_mV))
            v.fail(mn, "v_init_mV", "",
                   fmt::format("every initial value must be below v_th_mV = {} (mV); {} allows {}", num(lp.v_th_mV),
                               std::holds_alternative<NormalDist>(*d) ? "the normal's max" : "it", num(hi)));
    }
}

PopulationModel lif_delta(const proto::LifDelta& m, const Node& mn, Validator& v) {
    LifDeltaParams lp;
    if (m.has_tau_m_ms()) lp.tau_m_ms = m.tau_m_ms();
    if (m.has_v_rest_mv()) lp.v_rest_mV = m.v_rest_mv();
    if (m.has_v_reset_mv()) lp.v_reset_mV = m.v_reset_mv();
    if (m.has_v_th_mv()) lp.v_th_mV = m.v_th_mv();
    if (m.has_t_ref_ms()) lp.t_ref_ms = m.t_ref_ms();
    v.positive(mn, "tau_m_ms", lp.tau_m_ms, "ms");
    v.non_negative(mn, "t_ref_ms", lp.t_ref_ms, "ms");
    lif_voltages(v, mn, m.v_init_mv(), lp);
    return lp;
}

PopulationModel lif_exp(const proto::LifExp& m, const Node& mn, Validator& v) {
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
    return lp;
}

PopulationModel lif_cond_exp(const proto::LifCondExp& m, const Node& mn, Validator& v) {
    LifCondExpParams lp;
    if (m.has_tau_m_ms()) lp.tau_m_ms = m.tau_m_ms();
    if (m.has_g_leak_ns()) lp.g_leak_nS = m.g_leak_ns();
    if (m.has_tau_e_ms()) lp.tau_e_ms = m.tau_e_ms();
    if (m.has_tau_i_ms()) lp.tau_i_ms = m.tau_i_ms();
    if (m.has_e_e_mv()) lp.e_e_mV = m.e_e_mv();
    if (m.has_e_i_mv()) lp.e_i_mV = m.e_i_mv();
    if (m.has_v_rest_mv()) lp.v_rest_mV = m.v_rest_mv();
    if (m.has_v_reset_mv()) lp.v_reset_mV = m.v_reset_mv();
    if (m.has_v_th_mv()) lp.v_th_mV = m.v_th_mv();
    if (m.has_t_ref_ms()) lp.t_ref_ms = m.t_ref_ms();
    v.positive(mn, "tau_m_ms", lp.tau_m_ms, "ms");
    v.positive(mn, "g_leak_nS", lp.g_leak_nS, "nS");
    v.positive(mn, "tau_e_ms", lp.tau_e_ms, "ms");
    v.positive(mn, "tau_i_ms", lp.tau_i_ms, "ms");
    v.finite(mn, "e_e_mV", lp.e_e_mV, "mV");
    v.finite(mn, "e_i_mV", lp.e_i_mV, "mV");
    v.non_negative(mn, "t_ref_ms", lp.t_ref_ms, "ms");
    lif_voltages(v, mn, m.v_init_mv(), lp);
    return lp;
}

// The AdEx voltages: finite; v_peak above v_t and within 500 delta_t of it (so that
// exp((V - v_t)/delta_t) stays finite up to v_peak); reset and every initial value
// below v_peak (default initial value: e_leak, or v_reset when e_leak >= v_peak).
void adex_voltages(Validator& v, const Node& mn, const proto::Distribution& v_init, AdExParams& ap) {
    bool volts = v.finite(mn, "e_leak_mV", ap.e_leak_mV, "mV") & v.finite(mn, "v_t_mV", ap.v_t_mV, "mV") &
                 v.finite(mn, "v_reset_mV", ap.v_reset_mV, "mV") & v.finite(mn, "v_peak_mV", ap.v_peak_mV, "mV");
    if (volts && !(ap.v_peak_mV > ap.v_t_mV))
        v.fail(mn, "v_peak_mV", num(ap.v_peak_mV), fmt::format("must be > v_t_mV = {} (mV)", num(ap.v_t_mV)));
    else if (volts && ap.delta_t_mV > 0 && (ap.v_peak_mV - ap.v_t_mV) / ap.delta_t_mV > 500.0)
        v.fail(mn, "v_peak_mV", num(ap.v_peak_mV),
               fmt::format("must be at most 500 delta_t_mV = {} above v_t_mV = {} (exp((V - v_t)/delta_t) "
                           "must stay finite up to v_peak) (mV)",
                           num(500.0 * ap.delta_t_mV), num(ap.v_t_mV)));
    if (volts && !(ap.v_reset_mV < ap.v_peak_mV))
        v.fail(mn, "v_reset_mV", num(ap.v_reset_mV), fmt::format("must be < v_peak_mV = {} (mV)", num(ap.v_peak_mV)));
    ap.v_init_mV = ap.e_leak_mV < ap.v_peak_mV ? ap.e_leak_mV : ap.v_reset_mV;
    if (auto d = v.distribution(mn, "v_init_mV", v_init, "mV", false)) {
        ap.v_init_mV = *d;
        const double hi = support(*d).second;
        const bool exclusive = std::holds_alternative<UniformDist>(*d);
        if (volts && (exclusive ? hi > ap.v_peak_mV : hi >= ap.v_peak_mV))
            v.fail(mn, "v_init_mV", "",
                   fmt::format("every initial value must be below v_peak_mV = {} (mV); {} allows {}",
                               num(ap.v_peak_mV), std::holds_alternative<NormalDist>(*d) ? "the normal's max" : "it",
                               num(hi)));
    }
}

PopulationModel adex(const proto::AdEx& m, const Node& mn, Validator& v) {
    AdExParams ap;
    if (m.has_c_pf()) ap.c_pF = m.c_pf();
    if (m.has_g_leak_ns()) ap.g_leak_nS = m.g_leak_ns();
    if (m.has_e_leak_mv()) ap.e_leak_mV = m.e_leak_mv();
    if (m.has_v_t_mv()) ap.v_t_mV = m.v_t_mv();
    if (m.has_delta_t_mv()) ap.delta_t_mV = m.delta_t_mv();
    if (m.has_a_ns()) ap.a_nS = m.a_ns();
    if (m.has_tau_w_ms()) ap.tau_w_ms = m.tau_w_ms();
    if (m.has_b_pa()) ap.b_pA = m.b_pa();
    if (m.has_v_reset_mv()) ap.v_reset_mV = m.v_reset_mv();
    if (m.has_v_peak_mv()) ap.v_peak_mV = m.v_peak_mv();
    if (m.has_t_ref_ms()) ap.t_ref_ms = m.t_ref_ms();
    if (m.has_i_e_pa()) ap.i_e_pA = m.i_e_pa();
    if (m.has_w_init_pa()) ap.w_init_pA = m.w_init_pa();
    v.positive(mn, "c_pF", ap.c_pF, "pF");
    v.positive(mn, "g_leak_nS", ap.g_leak_nS, "nS");
    if (!(std::isfinite(ap.delta_t_mV) && ap.delta_t_mV > 0))
        v.fail(mn, "delta_t_mV", num(ap.delta_t_mV),
               "must be > 0 (mV); the LIF limit delta_t = 0 is not supported (use lif_delta, or a small delta_t)");
    v.finite(mn, "a_nS", ap.a_nS, "nS");
    v.positive(mn, "tau_w_ms", ap.tau_w_ms, "ms");
    v.finite(mn, "b_pA", ap.b_pA, "pA");
    v.non_negative(mn, "t_ref_ms", ap.t_ref_ms, "ms");
    v.finite(mn, "i_e_pA", ap.i_e_pA, "pA");
    v.finite(mn, "w_init_pA", ap.w_init_pA, "pA");
    adex_voltages(v, mn, m.v_init_mv(), ap);
    return ap;
}

PopulationModel stochastic(const proto::Stochastic& m, const Node& mn, Validator& v) {
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
                       : m.rate_function() == proto::SOFTPLUS   ? RateFunction::Softplus
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
        v.fail(mn, "rate_function", std::to_string(m.rate_function()), "must be SIGMOID, HARD_SIGMOID or SOFTPLUS");
    else if (sp.rate_function == RateFunction::HardSigmoid && sp.beta_per_mV == 0.0)
        v.fail(mn, "beta_per_mV", "0", "must be > 0 with HARD_SIGMOID: 1/beta is the width of the linear part (1/mV)");
    else if (sp.rate_function == RateFunction::Softplus && sp.noise_sigma_mV > 0.0)
        v.fail(mn, "noise_sigma_mV", num(sp.noise_sigma_mV),
               "must be 0 with SOFTPLUS: spikes are drawn against a bound of rho(V), and a noisy V has none (mV)");
    v.finite(mn, "theta_mV", sp.theta_mV, "mV");
    if (sp.v_reset_mV) v.finite(mn, "v_reset_mV", *sp.v_reset_mV, "mV");
    v.non_negative(mn, "t_ref_ms", sp.t_ref_ms, "ms");
    sp.v_init_mV = sp.v_rest_mV + sp.drive_mV;
    if (auto d = v.distribution(mn, "v_init_mV", m.v_init_mv(), "mV", false)) sp.v_init_mV = *d;
    return sp;
}

// poisson.rate_table (node tn): its rows inline or from its file, checked alike;
// a problem in a file's row is named by the file's line.
void rate_table(const proto::RateTable& t, const Node& tn, InputFiles& files, Validator& v, PoissonRateTable& out) {
    std::vector<std::size_t> lines;  // the file's line of each row; empty for inline rows
    const std::string quoted_file = fmt::format("\"{}\"", t.file());
    if (!t.file().empty()) {
        if (t.t_ms_size() > 0 || t.rate_hz_size() > 0)
            v.fail(tn, "file", quoted_file, "replaces t_ms and rate_hz: give the table inline or in a file, not both");
        const std::size_t errors_before = v.errors().size();
        read_rate_table_file(tn, t.file(), files, v, out.t_ms, out.rate_hz, lines);
        if (out.t_ms.empty() && v.errors().size() == errors_before)
            v.fail(tn, "file", quoted_file, "has no rows: expected at least one line \"t_ms,rate_hz\" after the header");
    } else {
        out.t_ms.assign(t.t_ms().begin(), t.t_ms().end());
        out.rate_hz.assign(t.rate_hz().begin(), t.rate_hz().end());
        if (out.t_ms.empty()) v.fail(tn, "t_ms", "", "is empty: expected at least one row (a t_ms with its rate_hz)");
        if (out.rate_hz.size() != out.t_ms.size())
            v.fail(tn, "rate_hz", "",
                   fmt::format("has {} values for {} t_ms: expected one per t_ms", out.rate_hz.size(), out.t_ms.size()));
    }
    auto report = [&](const char* field, double x, const std::string& rule, std::size_t k) {
        if (lines.empty())
            v.fail(tn, field, num(x), rule, static_cast<int>(k));
        else
            v.fail(tn, "file", quoted_file, fmt::format("line {}: {} = {}: {}", lines[k], field, num(x), rule));
    };
    for (std::size_t k = 0; k < out.t_ms.size(); ++k) {
        const double tk = out.t_ms[k];
        if (!(std::isfinite(tk) && tk >= 0))
            report("t_ms", tk, "must be a finite time >= 0 (ms)", k);
        else if (k > 0 && std::isfinite(out.t_ms[k - 1]) && !(tk > out.t_ms[k - 1]))
            report("t_ms", tk, fmt::format("must be > the previous t_ms = {} (strictly increasing) (ms)", num(out.t_ms[k - 1])),
                   k);
    }
    for (std::size_t k = 0; k < out.rate_hz.size(); ++k)
        if (!(std::isfinite(out.rate_hz[k]) && out.rate_hz[k] >= 0)) report("rate_hz", out.rate_hz[k], "must be >= 0 (Hz)", k);
}

// `size`: the population's, for per-neuron rates.
PopulationModel poisson(const proto::PoissonSource& m, const Node& mn, std::uint32_t size, InputFiles& files,
                        Validator& v) {
    PoissonParams pp;
    pp.rate_hz = m.rate_hz();
    v.non_negative(mn, "rate_hz", pp.rate_hz, "Hz");
    pp.rate_slope_hz_per_s = m.rate_slope_hz_per_s();
    v.finite(mn, "rate_slope_hz_per_s", pp.rate_slope_hz_per_s, "Hz/s");
    if (m.rates_hz_size() > 0) {
        if (static_cast<std::uint32_t>(m.rates_hz_size()) != size)
            v.fail(mn, "rates_hz", "",
                   fmt::format("has {} values: expected one per neuron, {}", m.rates_hz_size(), size));
        if (pp.rate_hz != 0.0 || pp.rate_slope_hz_per_s != 0.0)
            v.fail(mn, "rates_hz", "", "replaces rate_hz and rate_slope_hz_per_s: give those as 0");
        for (int k = 0; k < m.rates_hz_size(); ++k) {
            const double r = m.rates_hz(k);
            if (!(std::isfinite(r) && r >= 0)) v.fail(mn, "rates_hz", num(r), "must be >= 0 (Hz)", k);
            pp.rates_hz.push_back(r);
        }
    }
    if (m.has_rate_table()) {
        if (pp.rate_hz != 0.0 || pp.rate_slope_hz_per_s != 0.0 || m.rates_hz_size() > 0)
            v.fail(mn, "rate_table", "", "replaces rate_hz, rate_slope_hz_per_s and rates_hz: give those as 0 or leave them out");
        rate_table(m.rate_table(), mn.child("rate_table", m.rate_table()), files, v, pp.rate_table);
    }
    if (m.has_start_ms()) {
        pp.start_ms = m.start_ms();
        v.non_negative(mn, "start_ms", pp.start_ms, "ms");
    }
    if (m.has_stop_ms()) {
        pp.stop_ms = m.stop_ms();
        if (v.finite(mn, "stop_ms", pp.stop_ms, "ms") && !(pp.stop_ms > pp.start_ms))
            v.fail(mn, "stop_ms", num(pp.stop_ms), fmt::format("must be > start_ms = {} (ms)", num(pp.start_ms)));
    }
    return pp;
}

// `size`: the population's, which every train's neuron index must be below.
PopulationModel spike_times(const proto::SpikeTimesSource& m, const Node& mn, std::uint32_t size, InputFiles& files,
                            Validator& v) {
    SpikeTimesParams sp;  // trains grow as far as the highest neuron that has one (train_of)
    if (!m.file().empty()) {
        if (m.train_size() > 0)
            v.fail(mn, "file", fmt::format("\"{}\"", m.file()), "replaces train: give the spikes in train or in a file, not both");
        read_spike_times_file(mn, m.file(), m.population(), size, files, v, sp.times_ms);
    } else if (!m.population().empty()) {
        v.fail(mn, "population", fmt::format("\"{}\"", m.population()), "selects rows of a file: give it only with file");
    }
    std::set<std::uint32_t> seen;
    for (int k = 0; k < m.train_size(); ++k) {
        const auto& tr = m.train(k);
        Node tn = mn.child("train", tr, k);
        if (tr.neuron() >= size) {
            v.fail(tn, "neuron", std::to_string(tr.neuron()), fmt::format("must be < size = {} (neuron index)", size));
            continue;
        }
        if (!seen.insert(tr.neuron()).second)
            v.fail(tn, "neuron", std::to_string(tr.neuron()), "has a train already: give each neuron one train");
        for (int j = 0; j < tr.t_ms_size(); ++j) {
            double t = tr.t_ms(j);
            if (!std::isfinite(t) || t < 0)
                v.fail(tn, "t_ms", num(t), "must be a finite time >= 0 (ms)", j);
            else
                train_of(sp.times_ms, tr.neuron()).push_back(t);
        }
    }
    return sp;
}

// The model of population p (node pn), or nothing when it names none.
std::optional<PopulationModel> model(const proto::Population& p, const Node& pn, InputFiles& files, Validator& v) {
    switch (p.model_case()) {
        case proto::Population::MODEL_NOT_SET:
            v.fail_node(pn, "no model: expected one of lif_delta, lif_exp, lif_cond_exp, stochastic, poisson, spike_times, adex");
            return std::nullopt;
        case proto::Population::kLifDelta: return lif_delta(p.lif_delta(), pn.child("lif_delta", p.lif_delta()), v);
        case proto::Population::kLifExp: return lif_exp(p.lif_exp(), pn.child("lif_exp", p.lif_exp()), v);
        case proto::Population::kLifCondExp:
            return lif_cond_exp(p.lif_cond_exp(), pn.child("lif_cond_exp", p.lif_cond_exp()), v);
        case proto::Population::kAdex: return adex(p.adex(), pn.child("adex", p.adex()), v);
        case proto::Population::kStochastic:
            return stochastic(p.stochastic(), pn.child("stochastic", p.stochastic()), v);
        case proto::Population::kPoisson:
            return poisson(p.poisson(), pn.child("poisson", p.poisson()), p.size(), files, v);
        case proto::Population::kSpikeTimes:
            return spike_times(p.spike_times(), pn.child("spike_times", p.spike_times()), p.size(), files, v);
    }
    return std::nullopt;
}


// The model's v_init_mV as given, or nothing when the loader filled in its default.
bool v_init_given(const proto::Population& p) {
    switch (p.model_case()) {
        case proto::Population::kLifDelta: return p.lif_delta().has_v_init_mv();
        case proto::Population::kLifExp: return p.lif_exp().has_v_init_mv();
        case proto::Population::kLifCondExp: return p.lif_cond_exp().has_v_init_mv();
        default: return false;
    }
}

// The unit of a model parameter, from its name's suffix (for messages).
const char* unit_of(std::string_view name) {
    for (const auto& [suffix, unit] : {std::pair{"_mV_per_ms", "mV/ms"}, {"_per_mV", "1/mV"}, {"_ms", "ms"},
                                       {"_mV", "mV"}, {"_pA", "pA"}, {"_nS", "nS"}, {"_pF", "pF"}, {"_hz", "Hz"}})
        if (name.size() > std::string_view(suffix).size() && name.ends_with(suffix)) return unit;
    return "";
}

// Pairs of a model's parameters that must stay 0.1 % apart (the model's loader
// says why); a spread of either whose range comes that close to the other's is
// refused, as the corners alone would not find an equal pair inside the ranges.
// Each with the values the model has when not spread (the loaded ones, defaults included).
struct ApartPair {
    std::string_view a, b;
    double a_shared, b_shared;
};
std::vector<ApartPair> apart(const PopulationModel& m) {
    if (const auto* p = std::get_if<LifExpParams>(&m))
        return {{"tau_e_ms", "tau_m_ms", p->tau_e_ms, p->tau_m_ms}, {"tau_i_ms", "tau_m_ms", p->tau_i_ms, p->tau_m_ms}};
    // stochastic: its exponential current's closed form divides by tau_syn - tau_m (a
    // tau_syn range reaching 0, voltage jumps, is fine as long as it stays clear of tau_m).
    if (const auto* p = std::get_if<StochasticParams>(&m))
        return {{"tau_syn_ms", "tau_m_ms", p->tau_syn_ms, p->tau_m_ms}};
    return {};
}

// The distributions of population.per_neuron, checked so that no neuron can
// draw a value the model refuses: each parameter is one the model spreads
// (ModelTraits::per_neuron), given once, with a finite range; and the model's
// own rules (its section above) hold at every corner of the spread ranges
// (reset below threshold, initial values below threshold, t_ref >= 0, ...),
// which covers the rules that are monotone in each parameter.  The first
// corner that breaks one is reported, with the model's message.
void per_neuron(const proto::Population& p, const Node& pn, Validator& v, PopulationSpec& ps, InputFiles& files) {
    if (p.per_neuron_size() == 0) return;
    const auto allowed = model_per_neuron_parameters(ps.model);
    if (allowed.empty()) {
        v.fail(pn, "per_neuron", "", fmt::format("the {} model has no per-neuron parameters", model_name(ps.model)));
        return;
    }
    std::string allowed_list;
    for (std::string_view a : allowed) allowed_list += (allowed_list.empty() ? "" : ", ") + std::string(a);
    // The spec's model message, whose fields the parameters name.
    const pb::Reflection* pr = p.GetReflection();
    const pb::FieldDescriptor* model_field = pr->GetOneofFieldDescriptor(p, p.GetDescriptor()->FindOneofByName("model"));
    struct Range {
        std::string name;
        double lo, hi;
    };
    std::vector<Range> ranges;
    bool ok = true;
    for (int k = 0; k < p.per_neuron_size(); ++k) {
        const auto& q = p.per_neuron(k);
        Node qn = pn.child("per_neuron", q, k);
        if (std::find(allowed.begin(), allowed.end(), q.parameter()) == allowed.end()) {
            v.fail(qn, "parameter", fmt::format("\"{}\"", q.parameter()), "must be one of " + allowed_list);
            ok = false;
            continue;
        }
        if (std::any_of(ranges.begin(), ranges.end(), [&](const Range& r) { return r.name == q.parameter(); })) {
            v.fail(qn, "parameter", fmt::format("\"{}\"", q.parameter()), "is spread already: give each parameter once");
            ok = false;
            continue;
        }
        const char* unit = unit_of(q.parameter());
        auto d = v.distribution(qn, "value", q.value(), unit, true);
        if (!d) {
            ok = false;
            continue;
        }
        const auto [lo, hi] = support(*d);
        if (!std::isfinite(lo) || !std::isfinite(hi)) {
            v.fail(qn, "value", "",
                   fmt::format("can draw {} ({}): every neuron's {} must be finite; bound a normal with min and max",
                               num(std::isfinite(lo) ? hi : lo), unit, q.parameter()));
            ok = false;
            continue;
        }
        ranges.push_back({q.parameter(), lo, hi});
        ps.per_neuron.push_back({q.parameter(), *d});
    }
    if (!ok) return;
    // Without a v_init_mV each neuron starts at its own rest level when the levels vary.
    ps.v_init_at_rest = !v_init_given(p) && (find_spread(ps, "v_rest_mV") || find_spread(ps, "v_th_mV") ||
                                             find_spread(ps, "v_reset_mV"));
    // A parameter's range: its spread's, or the model's one value.
    auto range_of = [&](std::string_view name, double shared) -> std::pair<double, double> {
        for (const Range& r : ranges)
            if (r.name == name) return {r.lo, r.hi};
        return {shared, shared};
    };
    for (const auto& [a, b, a_shared, b_shared] : apart(ps.model)) {
        if (!find_spread(ps, a) && !find_spread(ps, b)) continue;
        const auto ra = range_of(a, a_shared), rb = range_of(b, b_shared);
        // Within 0.1 % of each other somewhere: the ranges overlap once widened by it.
        if (ra.first <= rb.second * (1 + 1e-3) && rb.first <= ra.second * (1 + 1e-3))
            v.fail(pn, "per_neuron", "",
                   fmt::format("{} ranges over [{}, {}] and {} over [{}, {}] (ms): every neuron's {} must differ from "
                               "its {} by at least 0.1 %, so the ranges must not meet",
                               a, num(ra.first), num(ra.second), b, num(rb.first), num(rb.second), a, b));
    }
    // The corners: each spread parameter at one end of its range.
    const std::size_t n = ranges.size();
    for (std::uint64_t corner = 0; corner < (std::uint64_t{1} << n); ++corner) {
        proto::Population c = p;
        pb::Message* cm = c.GetReflection()->MutableMessage(&c, model_field);
        std::string at;
        for (std::size_t k = 0; k < n; ++k) {
            const double x = (corner >> k) & 1 ? ranges[k].hi : ranges[k].lo;
            cm->GetReflection()->SetDouble(cm, cm->GetDescriptor()->FindFieldByName(ranges[k].name), x);
            at += fmt::format("{}{} = {}", k == 0 ? "" : (k + 1 == n ? " and " : ", "), ranges[k].name, num(x));
        }
        Validator cv("");
        model(c, Node{&c, nullptr, ""}, files, cv);
        if (cv.errors().empty()) continue;
        std::string why = cv.errors().front();
        if (why.starts_with(": ")) why.erase(0, 2);
        v.fail(pn, "per_neuron", "",
               fmt::format("at {} {}, the model refuses: {}", n > 1 ? "the ends of the spreads" : "the end of the spread",
                           at, why));
        return;
    }
}

}  // namespace

PopulationIndex load_populations(const proto::Spec& spec, const Node& root, Validator& v,
                                 std::vector<PopulationSpec>& out, InputFiles& files) {
    PopulationIndex pops;
    std::uint64_t total = 0;
    if (spec.population_size() == 0) v.fail(root, "population", "", "the spec has no population: expected at least one");
    for (int i = 0; i < spec.population_size(); ++i) {
        const auto& p = spec.population(i);
        Node pn = valid_name(p.name()) ? root.named("population", p, i, p.name()) : root.child("population", p, i);
        PopulationSpec ps;
        ps.name = p.name();
        ps.size = p.size();
        if (!valid_name(p.name()))
            v.fail(pn, "name", fmt::format("\"{}\"", p.name()), kNameRule);
        else if (auto [it, fresh] = pops.by_name.emplace(p.name(), i); !fresh)
            v.fail(pn, "name", fmt::format("\"{}\"", p.name()),
                   fmt::format("must be unique: population[{}] has this name already", it->second));
        if (p.size() == 0) v.fail(pn, "size", "0", "must be >= 1 (neurons)");
        total += p.size();
        std::optional<PopulationModel> m = model(p, pn, files, v);
        if (m) {
            ps.model = std::move(*m);
            per_neuron(p, pn, v, ps, files);
        }
        // A population without a model (reported above) counts as a spike source in later lookups.
        pops.receives_input.push_back(m && model_is_neuron(ps.model));
        out.push_back(std::move(ps));
    }
    if (total >= 0xffffffffull) v.fail(root, "population", std::to_string(total), "the total neuron count must be < 2^32");
    return pops;
}

}  // namespace spikeem::io::loader
