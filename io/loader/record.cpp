// The record section: which spikes, weights, voltages and rates to sample.
#include <fmt/format.h>

#include <set>

#include "io/loader/sections.hpp"
#include "network/models/registry.hpp"

namespace spikeem::io::loader {
namespace {

void spikes(const proto::Record& rec, const Node& rc, const PopulationIndex& pops, Validator& v, NetworkSpec& out) {
    std::set<std::string> recorded;
    for (int i = 0; i < rec.spikes_size(); ++i) {
        if (!pops.lookup(v, rc, "spikes", rec.spikes(i), false, i)) continue;
        if (!recorded.insert(rec.spikes(i)).second)
            v.fail(rc, "spikes", fmt::format("\"{}\"", rec.spikes(i)), "is listed twice", i);
        out.record.spike_populations.push_back(rec.spikes(i));
    }
}

// The synapses of a weight probe are checked against the sizes of its projection's populations.
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
    }
    if (v.finite(wn, "interval_ms", wp.interval_ms(), "ms") && !(wp.interval_ms() >= time.resolution_ms()))
        v.fail(wn, "interval_ms", num(wp.interval_ms()), fmt::format("must be >= {} (ms)", resolution_label(time)));
    out.record.weights.push_back(std::move(ps));
}

void voltage_probe(const proto::VoltageProbe& vp, const Node& vn, const PopulationIndex& pops, const TimeBase& time,
                   Validator& v, NetworkSpec& out) {
    VoltageProbeSpec ps{vp.population(), {}, vp.interval_ms()};
    auto p = pops.lookup(v, vn, "population", vp.population(), true);
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
    for (int k = 0; k < rp.neuron_size(); ++k) {
        if (p && rp.neuron(k) >= out.populations[*p].size)
            v.fail(rn, "neuron", std::to_string(rp.neuron(k)),
                   fmt::format("must be < the population size {} (neuron index)", out.populations[*p].size), k);
        ps.neurons.push_back(rp.neuron(k));
    }
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
}

}  // namespace spikeem::io::loader
