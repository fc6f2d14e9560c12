// The poisson_input and current_input sections: Poisson drive and currents
// straight into neurons (PoissonInputSpec, CurrentInputSpec).
#include <fmt/format.h>

#include <cmath>
#include <set>
#include <string>

#include "io/loader/sections.hpp"
#include "io/spikeem.pb.h"
#include "network/models/registry.hpp"

namespace spikeem::io::loader {
namespace {

// The rates: finite, >= 0, and their sum per neuron below both 1e7 Hz and one input per tick
// (beyond either the run would be all inputs and no network).
void check_rate(const proto::PoissonInput& p, const Node& n, std::uint32_t sources, const TimeBase& time,
                Validator& v) {
    if (!v.finite(n, "rate_hz", p.rate_hz(), "Hz")) return;
    v.non_negative(n, "rate_hz", p.rate_hz(), "Hz");
    const double total_hz = p.rate_hz() * sources;
    const double per_tick_hz = 1000.0 / time.resolution_ms();
    if (total_hz > 1e7 || total_hz >= per_tick_hz)
        v.fail(n, "rate_hz", num(p.rate_hz()),
               fmt::format("sources * rate_hz = {} Hz per neuron: must be <= 1e7 Hz and below one input per tick "
                           "({} Hz at {})",
                           num(total_hz), num(per_tick_hz), resolution_label(time)));
}

// start_ms and stop_ms of an input message M into its spec S (both kinds of input have them).
template <class M, class S>
void check_times(const M& p, const Node& n, Validator& v, S& in) {
    if (p.has_start_ms() && v.finite(n, "start_ms", p.start_ms(), "ms")) {
        v.non_negative(n, "start_ms", p.start_ms(), "ms");
        in.start_ms = p.start_ms();
    }
    if (p.has_stop_ms() && v.finite(n, "stop_ms", p.stop_ms(), "ms")) {
        if (!(p.stop_ms() > in.start_ms))
            v.fail(n, "stop_ms", num(p.stop_ms()), fmt::format("must be > start_ms = {} (ms)", num(in.start_ms)));
        in.stop_ms = p.stop_ms();
    }
}

// The name of input k of section `section` (default "TARGET.section[K]"), checked and unique
// among `names`, and the node its problems are reported at.
template <class M>
Node input_name(const M& p, int k, const char* section, const Node& root, Validator& v, std::set<std::string>& names,
                std::string& name) {
    name = p.name().empty() ? fmt::format("{}.{}[{}]", p.target(), section, k) : p.name();
    Node n = p.name().empty() ? root.child(section, p, k) : root.named(section, p, k, p.name());
    if (!p.name().empty() && !valid_name(p.name()))
        v.fail(n, "name", fmt::format("\"{}\"", p.name()), kNameRule);
    else if (!names.insert(name).second)
        v.fail(n, "name", fmt::format("\"{}\"", name), fmt::format("must be unique among {}", section));
    return n;
}

}  // namespace

void load_poisson_inputs(const proto::Spec& spec, const Node& root, const PopulationIndex& pops,
                         const TimeBase& time, Validator& v, NetworkSpec& out) {
    std::set<std::string> names;
    for (int k = 0; k < spec.poisson_input_size(); ++k) {
        const auto& p = spec.poisson_input(k);
        PoissonInputSpec in;
        const Node n = input_name(p, k, "poisson_input", root, v, names, in.name);
        in.target = p.target();
        if (p.target().empty())
            v.fail(n, "target", "", "required: the name of a neuron population");
        else if (const auto t = pops.lookup(v, n, "target", p.target(), true); t && p.has_target_neurons())
            in.target_range = neuron_range(n, "target_neurons", p.target_neurons(), out.populations[*t].size, v);
        in.sources = p.has_sources() ? p.sources() : 1;
        if (in.sources == 0) v.fail(n, "sources", "0", "must be >= 1 (independent trains per neuron)");
        check_rate(p, n, in.sources, time, v);
        in.rate_hz = p.rate_hz();
        if (v.finite(n, "weight_mV", p.weight_mv(), "mV") && p.weight_mv() == 0.0)
            v.fail(n, "weight_mV", "0", "required: the jump of each input, finite and != 0 (mV)");
        in.weight_mV = p.weight_mv();
        check_times(p, n, v, in);
        out.poisson_inputs.push_back(std::move(in));
    }
}

namespace {

// The current's time course: DC (a per-neuron distribution), steps or OU.
std::variant<DcCurrent, StepCurrent, OuCurrent> current_kind(const proto::CurrentInput& c, const Node& n,
                                                             const TimeBase& time, double duration_ms,
                                                             Validator& v) {
    switch (c.kind_case()) {
        case proto::CurrentInput::kDc: {
            DcCurrent dc;
            if (auto d = v.distribution(n.child("dc", c.dc()), "amplitude_mV", c.dc().amplitude_mv(), "mV", true))
                dc.amplitude_mV = *d;
            return dc;
        }
        case proto::CurrentInput::kSteps: {
            const auto& m = c.steps();
            Node sn = n.child("steps", m);
            StepCurrent st;
            if (m.t_ms_size() == 0) v.fail(sn, "t_ms", "", "required: at least one step time (ms)");
            if (m.amplitude_mv_size() != m.t_ms_size())
                v.fail(sn, "amplitude_mV", "",
                       fmt::format("has {} values: expected one per t_ms, {}", m.amplitude_mv_size(), m.t_ms_size()));
            for (int k = 0; k < m.t_ms_size(); ++k) {
                const double t = m.t_ms(k);
                if (!(std::isfinite(t) && t >= 0.0)) v.fail(sn, "t_ms", num(t), "must be a finite time >= 0 (ms)", k);
                else if (k > 0 && !(t > m.t_ms(k - 1)))
                    v.fail(sn, "t_ms", num(t), fmt::format("must be > t_ms[{}] = {}: strictly increasing (ms)", k - 1,
                                                           num(m.t_ms(k - 1))), k);
                st.t_ms.push_back(t);
            }
            for (int k = 0; k < m.amplitude_mv_size(); ++k) {
                if (!std::isfinite(m.amplitude_mv(k))) v.fail(sn, "amplitude_mV", num(m.amplitude_mv(k)), "must be finite (mV)", k);
                st.amplitude_mV.push_back(m.amplitude_mv(k));
            }
            return st;
        }
        case proto::CurrentInput::kOu: {
            const auto& m = c.ou();
            Node on = n.child("ou", m);
            OuCurrent ou{m.mean_mv(), m.sigma_mv(), m.tau_ms(), m.dt_ms()};
            v.finite(on, "mean_mV", ou.mean_mV, "mV");
            v.non_negative(on, "sigma_mV", ou.sigma_mV, "mV");
            v.positive(on, "tau_ms", ou.tau_ms, "ms");
            if (!(std::isfinite(ou.dt_ms) && ou.dt_ms >= time.resolution_ms()))
                v.fail(on, "dt_ms", num(ou.dt_ms), fmt::format("must be >= {} (ms)", resolution_label(time)));
            else if (duration_ms / ou.dt_ms >= 4294967295.0)
                v.fail(on, "dt_ms", num(ou.dt_ms),
                       fmt::format("gives {} samples in the run's {} ms: at most 2^32 - 1 (ms)",
                                   num(std::floor(duration_ms / ou.dt_ms)), num(duration_ms)));
            return ou;
        }
        case proto::CurrentInput::KIND_NOT_SET: break;
    }
    v.fail_node(n, "no current: expected one of dc, steps, ou");
    return DcCurrent{};
}

}  // namespace

void load_current_inputs(const proto::Spec& spec, const Node& root, const PopulationIndex& pops,
                         const TimeBase& time, Validator& v, NetworkSpec& out) {
    std::set<std::string> names;
    for (int k = 0; k < spec.current_input_size(); ++k) {
        const auto& c = spec.current_input(k);
        CurrentInputSpec in;
        const Node n = input_name(c, k, "current_input", root, v, names, in.name);
        in.target = c.target();
        if (c.target().empty()) {
            v.fail(n, "target", "",
                   "required: the name of a lif_delta, lif_exp, lif_cond_exp, adex or stochastic population");
        } else if (const auto t = pops.lookup(v, n, "target", c.target(), true)) {
            const PopulationSpec& ps = out.populations[*t];
            if (!model_takes_current(ps.model))
                v.fail(n, "target", fmt::format("\"{}\"", c.target()),
                       fmt::format("is a {} population: currents go into lif_delta, lif_exp, lif_cond_exp, adex or "
                                   "stochastic populations",
                                   model_name(ps.model)));
            else if (c.has_target_neurons())
                in.target_range = neuron_range(n, "target_neurons", c.target_neurons(), ps.size, v);
        }
        in.kind = current_kind(c, n, time, out.run.duration_ms, v);
        check_times(c, n, v, in);
        out.current_inputs.push_back(std::move(in));
    }
}

}  // namespace spikeem::io::loader
