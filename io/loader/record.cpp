// The record section: which spikes, weights, voltages and rates to sample.
#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <utility>
#include <variant>

#include "io/loader/sections.hpp"
#include "network/models/registry.hpp"

namespace spikeem::io::loader {
namespace {

// start_ms and stop_ms of any probe message: [start, stop), start >= 0, stop > start.
template <class Probe>
RecordWindow window(const Probe& pm, const Node& n, Validator& v) {
    RecordWindow w;
    if (pm.has_start_ms()) {
        v.non_negative(n, "start_ms", pm.start_ms(), "ms");
        w.start_ms = pm.start_ms();
    }
    if (pm.has_stop_ms()) {
        if (v.finite(n, "stop_ms", pm.stop_ms(), "ms") && !(pm.stop_ms() > w.start_ms))
            v.fail(n, "stop_ms", num(pm.stop_ms()), fmt::format("must be > start_ms {} (ms)", num(w.start_ms)));
        w.stop_ms = pm.stop_ms();
    }
    return w;
}

// The neuron list of a probe on population p (if known): each < its size, and each once if `distinct`.
template <class Probe>
std::vector<std::uint32_t> neuron_list(const Probe& pm, const Node& n, std::optional<std::size_t> p, bool distinct,
                                       Validator& v, const NetworkSpec& out) {
    std::vector<std::uint32_t> neurons;
    std::set<std::uint32_t> seen;
    for (int k = 0; k < pm.neuron_size(); ++k) {
        if (p && pm.neuron(k) >= out.populations[*p].size)
            v.fail(n, "neuron", std::to_string(pm.neuron(k)),
                   fmt::format("must be < the population size {} (neuron index)", out.populations[*p].size), k);
        else if (distinct && !seen.insert(pm.neuron(k)).second)
            v.fail(n, "neuron", std::to_string(pm.neuron(k)), "is listed twice", k);
        neurons.push_back(pm.neuron(k));
    }
    return neurons;
}

void spikes(const proto::Record& rec, const Node& rc, const PopulationIndex& pops, Validator& v, NetworkSpec& out) {
    std::set<std::string> recorded;
    for (int i = 0; i < rec.spikes_size(); ++i) {
        if (!pops.lookup(v, rc, "spikes", rec.spikes(i), false, i)) continue;
        if (!recorded.insert(rec.spikes(i)).second)
            v.fail(rc, "spikes", fmt::format("\"{}\"", rec.spikes(i)), "is listed twice", i);
        out.record.spike_populations.push_back(rec.spikes(i));
    }
}

// Why projection pj (of its own, not a transpose; `sizes`: its source's and target's
// population sizes) certainly has no synapse from neuron pre to neuron post of its
// populations, or "" when it has one or may have one: random connectivity is only
// drawn when the network is built (network/projection.cpp, whose rules this follows).
std::string no_synapse(const ProjectionSpec& pj, std::pair<std::uint32_t, std::uint32_t> sizes, std::uint32_t pre,
                       std::uint32_t post) {
    const NeuronRange sr = pj.source_range.value_or(NeuronRange{0, sizes.first});
    const NeuronRange tr = pj.target_range.value_or(NeuronRange{0, sizes.second});
    if (pre < sr.begin || pre >= sr.end) return fmt::format("neuron {} is outside source_neurons", pre);
    if (post < tr.begin || post >= tr.end) return fmt::format("neuron {} is outside target_neurons", post);
    if (const auto* ep = std::get_if<ExplicitPairs>(&pj.connectivity)) {
        for (const auto& e : ep->pairs)
            if (sr.begin + e.pre == pre && tr.begin + e.post == post) return "";
        return "its explicit pairs do not list it";
    }
    if (pj.source == pj.target && !pj.allow_autapses && pre == post) return "autapses are off (allow_autapses)";
    if (std::holds_alternative<OneToOne>(pj.connectivity) && pre - sr.begin != post - tr.begin)
        return "one_to_one connects the k-th source to the k-th target only";
    if (const auto* fp = std::get_if<FixedProbability>(&pj.connectivity); fp && fp->p == 0.0) return "p is 0";
    if (const auto* fi = std::get_if<FixedIndegree>(&pj.connectivity); fi && fi->indegree == 0)
        return "the indegree is 0";
    return "";
}

// The synapses of a weight probe are checked against the sizes of its projection's populations,
// and against its connectivity where that is known before the network is built.
void weight_probe(const proto::WeightProbe& wp, const Node& wn, const PopulationIndex& pops, const TimeBase& time,
                  Validator& v, NetworkSpec& out) {
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
    const auto source = pj ? pops.find(pj->source) : std::nullopt;
    const auto target = pj ? pops.find(pj->target) : std::nullopt;
    for (int k = 0; k < wp.synapse_size(); ++k) {
        const auto& sp = wp.synapse(k);
        Node sn = wn.child("synapse", sp, k);
        if (source && sp.pre() >= out.populations[*source].size)
            v.fail(sn, "pre", std::to_string(sp.pre()),
                   fmt::format("must be < the size of \"{}\" (neuron index)", pj->source));
        if (target && sp.post() >= out.populations[*target].size)
            v.fail(sn, "post", std::to_string(sp.post()),
                   fmt::format("must be < the size of \"{}\" (neuron index)", pj->target));
        ps.pairs.emplace_back(sp.pre(), sp.post());
        if (!source || !target || sp.pre() >= out.populations[*source].size ||
            sp.post() >= out.populations[*target].size)
            continue;
        // A transpose has its partner's synapses reversed.
        const ProjectionSpec* own = pj;
        std::uint32_t pre = sp.pre(), post = sp.post();
        if (!pj->transpose_of.empty()) {
            own = nullptr;
            for (const auto& q : out.projections)
                if (q.name == pj->transpose_of) own = &q;
            std::swap(pre, post);
        }
        if (own == nullptr) continue;
        const auto own_s = pops.find(own->source), own_t = pops.find(own->target);
        if (!own_s || !own_t) continue;
        const std::string why =
            no_synapse(*own, {out.populations[*own_s].size, out.populations[*own_t].size}, pre, post);
        if (!why.empty())
            v.fail(wn, "synapse", fmt::format("{} -> {}", sp.pre(), sp.post()),
                   fmt::format("projection \"{}\" has no synapse from neuron {} to neuron {} ({}): the probe would "
                               "record nothing",
                               pj->name, sp.pre(), sp.post(), why),
                   k);
    }
    if (v.finite(wn, "interval_ms", wp.interval_ms(), "ms") && !(wp.interval_ms() >= time.resolution_ms()))
        v.fail(wn, "interval_ms", num(wp.interval_ms()), fmt::format("must be >= {} (ms)", resolution_label(time)));
    out.record.weights.push_back(std::move(ps));
    out.record.weight_windows.push_back(window(wp, wn, v));
}

void voltage_probe(const proto::VoltageProbe& vp, const Node& vn, const PopulationIndex& pops, const TimeBase& time,
                   Validator& v, NetworkSpec& out) {
    VoltageProbeSpec ps{vp.population(), {}, vp.interval_ms()};
    auto p = pops.lookup(v, vn, "population", vp.population(), true);
    ps.neurons = neuron_list(vp, vn, p, false, v, out);
    if (v.finite(vn, "interval_ms", vp.interval_ms(), "ms") && !(vp.interval_ms() >= time.resolution_ms()))
        v.fail(vn, "interval_ms", num(vp.interval_ms()),
               fmt::format("must be >= the resolution {} (ms)", num(time.resolution_ms())));
    out.record.voltages.push_back(std::move(ps));
    out.record.voltage_windows.push_back(window(vp, vn, v));
}

// window_ms belongs to COUNT and tau_ms to EXP; each is required there and rejected elsewhere.
void readout_parameters(const proto::RateProbe& rp, const Node& rn, const TimeBase& time, Validator& v,
                        RateProbeSpec& ps) {
    const std::string readout = proto::RateProbe::Readout_Name(rp.readout());
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
}

void rate_probe(const proto::RateProbe& rp, const Node& rn, const PopulationIndex& pops, const TimeBase& time,
                Validator& v, NetworkSpec& out) {
    RateProbeSpec ps;
    ps.population = rp.population();
    ps.interval_ms = rp.interval_ms();
    // Spike counts and traces work for any population; the model's rate needs a model that has one.
    auto p = pops.lookup(v, rn, "population", rp.population(), false);
    ps.neurons = neuron_list(rp, rn, p, false, v, out);
    out.record.rate_windows.push_back(window(rp, rn, v));
    if (v.finite(rn, "interval_ms", rp.interval_ms(), "ms") && !(rp.interval_ms() >= time.resolution_ms()))
        v.fail(rn, "interval_ms", num(rp.interval_ms()),
               fmt::format("must be >= the resolution {} (ms)", num(time.resolution_ms())));
    switch (rp.readout()) {
        case proto::RateProbe::COUNT: ps.readout = RateReadout::Count; break;
        case proto::RateProbe::EXP: ps.readout = RateReadout::Exp; break;
        case proto::RateProbe::MODEL: ps.readout = RateReadout::Model; break;
        default:
            v.fail(rn, "readout", std::to_string(rp.readout()), "unknown readout: expected COUNT, EXP or MODEL");
            out.record.rates.push_back(std::move(ps));
            return;
    }
    if (ps.readout == RateReadout::Model && p && !std::holds_alternative<StochasticParams>(out.populations[*p].model))
        v.fail(rn, "readout", proto::RateProbe::Readout_Name(rp.readout()),
               fmt::format("needs a model with its own rate rho(V) (stochastic); population \"{}\" is {}",
                           rp.population(), model_name(out.populations[*p].model)));
    readout_parameters(rp, rn, time, v, ps);
    out.record.rates.push_back(std::move(ps));
}

void spike_probe(const proto::SpikeProbe& sp, const Node& sn, const PopulationIndex& pops, Validator& v,
                 NetworkSpec& out) {
    SpikeProbeSpec ps{sp.population(), {}, {}};
    auto p = pops.lookup(v, sn, "population", sp.population(), false);
    const auto& whole = out.record.spike_populations;
    if (p && std::find(whole.begin(), whole.end(), sp.population()) != whole.end())
        v.fail(sn, "population", fmt::format("\"{}\"", sp.population()),
               "is recorded in full by record.spikes already (list it in one of the two)");
    ps.neurons = neuron_list(sp, sn, p, true, v, out);
    ps.window = window(sp, sn, v);
    out.record.spike_probes.push_back(std::move(ps));
}

void population_rate(const proto::PopulationRate& pr, const Node& pn, const PopulationIndex& pops,
                     const TimeBase& time, Validator& v, NetworkSpec& out) {
    PopulationRateProbeSpec ps{pr.population(), {}, pr.bin_ms(), {}};
    auto p = pops.lookup(v, pn, "population", pr.population(), false);
    ps.neurons = neuron_list(pr, pn, p, true, v, out);
    if (v.finite(pn, "bin_ms", pr.bin_ms(), "ms") && !(pr.bin_ms() >= time.resolution_ms()))
        v.fail(pn, "bin_ms", num(pr.bin_ms()),
               fmt::format("must be >= the resolution {} (ms)", num(time.resolution_ms())));
    ps.window = window(pr, pn, v);
    out.record.population_rates.push_back(std::move(ps));
}

}  // namespace

void load_record(const proto::Record& rec, const Node& rc, const PopulationIndex& pops, const TimeBase& time,
                 Validator& v, NetworkSpec& out) {
    spikes(rec, rc, pops, v, out);
    for (int i = 0; i < rec.weights_size(); ++i)
        weight_probe(rec.weights(i), rc.child("weights", rec.weights(i), i), pops, time, v, out);
    for (int i = 0; i < rec.voltage_size(); ++i)
        voltage_probe(rec.voltage(i), rc.child("voltage", rec.voltage(i), i), pops, time, v, out);
    for (int i = 0; i < rec.rate_size(); ++i)
        rate_probe(rec.rate(i), rc.child("rate", rec.rate(i), i), pops, time, v, out);
    for (int i = 0; i < rec.spike_probe_size(); ++i)
        spike_probe(rec.spike_probe(i), rc.child("spike_probe", rec.spike_probe(i), i), pops, v, out);
    for (int i = 0; i < rec.population_rate_size(); ++i)
        population_rate(rec.population_rate(i), rc.child("population_rate", rec.population_rate(i), i), pops, time, v,
                        out);
}

}  // namespace spikeem::io::loader
