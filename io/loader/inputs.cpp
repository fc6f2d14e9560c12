// The poisson_input section: Poisson drive straight into neurons (PoissonInputSpec).
#include <fmt/format.h>

#include <cmath>
#include <set>
#include <string>

#include "io/loader/sections.hpp"
#include "io/spikeem.pb.h"

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

void check_times(const proto::PoissonInput& p, const Node& n, Validator& v, PoissonInputSpec& in) {
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

}  // namespace

void load_poisson_inputs(const proto::Spec& spec, const Node& root, const PopulationIndex& pops,
                         const TimeBase& time, Validator& v, NetworkSpec& out) {
    std::set<std::string> names;
    for (int k = 0; k < spec.poisson_input_size(); ++k) {
        const auto& p = spec.poisson_input(k);
        PoissonInputSpec in;
        in.name = p.name().empty() ? fmt::format("{}.poisson_input[{}]", p.target(), k) : p.name();
        Node n = p.name().empty() ? root.child("poisson_input", p, k) : root.named("poisson_input", p, k, p.name());
        if (!p.name().empty() && !valid_name(p.name()))
            v.fail(n, "name", fmt::format("\"{}\"", p.name()), kNameRule);
        else if (!names.insert(in.name).second)
            v.fail(n, "name", fmt::format("\"{}\"", in.name), "must be unique among poisson_input");
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

}  // namespace spikeem::io::loader
