#include "io/spec_warnings.hpp"

#include <fmt/format.h>

#include <type_traits>
#include <utility>

namespace spikeem::io {
namespace {

using Taus = std::vector<std::pair<const char*, double>>;

// The model's field in the spec and its time constants (fields ending in _ms that are tau).
std::pair<const char*, Taus> model_taus(const PopulationModel& model) {
    return std::visit(
        [](const auto& m) -> std::pair<const char*, Taus> {
            using M = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<M, LifDeltaParams>) return {"lif_delta", {{"tau_m_ms", m.tau_m_ms}}};
            if constexpr (std::is_same_v<M, LifExpParams>)
                return {"lif_exp", {{"tau_m_ms", m.tau_m_ms}, {"tau_e_ms", m.tau_e_ms}, {"tau_i_ms", m.tau_i_ms}}};
            if constexpr (std::is_same_v<M, LifCondExpParams>)
                return {"lif_cond_exp",
                        {{"tau_m_ms", m.tau_m_ms}, {"tau_e_ms", m.tau_e_ms}, {"tau_i_ms", m.tau_i_ms}}};
            if constexpr (std::is_same_v<M, AdExParams>) return {"adex", {{"tau_w_ms", m.tau_w_ms}}};
            if constexpr (std::is_same_v<M, StochasticParams>)
                return {"stochastic", {{"tau_m_ms", m.tau_m_ms}, {"tau_syn_ms", m.tau_syn_ms}}};
            return {"", {}};
        },
        model);
}

std::pair<const char*, Taus> rule_taus(const PlasticitySpec& p) {
    return std::visit(
        [](const auto& r) -> std::pair<const char*, Taus> {
            using R = std::decay_t<decltype(r)>;
            if constexpr (std::is_same_v<R, PairStdpParams>)
                return {"pair_stdp", {{"tau_plus_ms", r.tau_plus_ms}, {"tau_minus_ms", r.tau_minus_ms}}};
            if constexpr (std::is_same_v<R, TripletStdpParams>)
                return {"triplet_stdp",
                        {{"tau_plus_ms", r.tau_plus_ms},
                         {"tau_minus_ms", r.tau_minus_ms},
                         {"tau_x_ms", r.tau_x_ms},
                         {"tau_y_ms", r.tau_y_ms}}};
            if constexpr (std::is_same_v<R, RateSlopeParams>)
                return {"rate_slope", {{"tau_pre_ms", r.tau_pre_ms}, {"tau_post_ms", r.tau_post_ms}}};
            if constexpr (std::is_same_v<R, InhibitoryStdpParams>) return {"inhibitory_stdp", {{"tau_ms", r.tau_ms}}};
            return {"", {}};
        },
        p.rule);
}

// 0 is not a warning: where it is allowed it means "none" (stochastic tau_syn_ms: voltage jumps).
void check_taus(const std::string& owner, const std::pair<const char*, Taus>& taus, std::vector<std::string>& out) {
    for (const auto& [name, tau_ms] : taus.second)
        if (tau_ms > 0 && tau_ms < kMinPlausibleTauMs)
            out.push_back(fmt::format("{}: {}.{} = {} ms is below {} ms: was it given in seconds? "
                                      "(time constants are in ms: 20 ms is {}: 20)",
                                      owner, taus.first, name, tau_ms, kMinPlausibleTauMs, name));
}

void check_rate(const std::string& where, double rate_hz, std::vector<std::string>& out) {
    if (rate_hz > kMaxPlausibleRateHz)
        out.push_back(fmt::format("{} = {} Hz is above {} kHz for one Poisson train: check the unit (Hz, not "
                                  "per ms); many sources into each neuron are poisson_input {{ rate_hz: R sources: N }}",
                                  where, rate_hz, kMaxPlausibleRateHz / 1000.0));
}

bool records_something(const NetworkSpec& spec) {
    const RecordSpec& r = spec.record;
    if (!r.spike_populations.empty() || !r.voltages.empty() || !r.weights.empty() || !r.rates.empty() ||
        !r.spike_probes.empty() || !r.population_rates.empty())
        return true;
    for (const ProjectionSpec& p : spec.projections)
        if (p.plasticity) return true;
    return spec.objective.has_value();
}

}  // namespace

std::vector<std::string> spec_warnings(const NetworkSpec& spec) {
    std::vector<std::string> out;
    if (!records_something(spec) && !spec.populations.empty())
        out.push_back(fmt::format("records nothing: add record {{ spikes: \"{}\" }} (or a spike_probe, voltage, rate "
                                  "or population_rate probe) for output beyond the summary",
                                  spec.populations.front().name));
    for (const PopulationSpec& p : spec.populations) {
        const std::string owner = fmt::format("population \"{}\"", p.name);
        check_taus(owner, model_taus(p.model), out);
        if (const auto* poisson = std::get_if<PoissonParams>(&p.model)) {
            check_rate(owner + ": poisson.rate_hz", poisson->rate_hz, out);
            // One line for the whole list: the first rate above the bound and how many there are.
            std::size_t first = 0, above = 0;
            for (std::size_t k = poisson->rates_hz.size(); k-- > 0;)
                if (poisson->rates_hz[k] > kMaxPlausibleRateHz) first = k, ++above;
            if (above > 0)
                check_rate(fmt::format("{}: poisson.rates_hz[{}]{}", owner, first,
                                       above > 1 ? fmt::format(" (and {} more)", above - 1) : std::string()),
                           poisson->rates_hz[first], out);
        }
    }
    for (const ProjectionSpec& p : spec.projections)
        if (p.plasticity) check_taus(fmt::format("projection \"{}\"", p.name), rule_taus(*p.plasticity), out);
    for (const PoissonInputSpec& in : spec.poisson_inputs)
        check_rate(fmt::format("poisson_input \"{}\": rate_hz", in.name), in.rate_hz, out);
    return out;
}

}  // namespace spikeem::io
