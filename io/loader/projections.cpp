// The projection section: endpoints, neuron ranges, connectivity, weights,
// delays and plasticity of each projection; a transpose takes all but its
// delays from its partner.
#include <fmt/format.h>

#include <set>

#include "io/loader/sections.hpp"

namespace spikeem::io::loader {
namespace {

// The two sides of a projection: the populations when their names resolve,
// and how many neurons each side has (after its range).
struct Sides {
    std::optional<std::size_t> s, t;
    std::uint32_t ns = 0, nt = 0;
    bool known() const { return s && t; }
};

// A transposed projection: everything but its delays comes from its partner,
// which must be among `earlier`.  False when there is no partner: the
// projection is then left out of the spec (later references to it are unknown).
bool transpose(const Node& pn, const proto::Projection& p, const std::vector<ProjectionSpec>& earlier,
               const TimeBase& time, Validator& v, ProjectionSpec& js) {
    const std::string quoted = fmt::format("\"{}\"", p.transpose_of());
    js.transpose_of = p.transpose_of();
    const ProjectionSpec* partner = nullptr;
    for (const auto& q : earlier)
        if (q.name == p.transpose_of()) partner = &q;
    if (partner == nullptr) {
        v.fail(pn, "transpose_of", quoted, "no such projection before this one (a transpose follows its partner)");
        return false;
    }
    if (!partner->transpose_of.empty())
        v.fail(pn, "transpose_of", quoted, "is itself a transpose: name the original projection");
    for (const auto& q : earlier)
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
    if (auto d = v.distribution(pn, "delay_ms", p.delay_ms(), "ms", true, time.resolution_ms(), resolution_label(time)))
        js.delay_ms = *d;
    js.dendritic_delay_ms = p.dendritic_delay_ms();
    v.non_negative(pn, "dendritic_delay_ms", p.dendritic_delay_ms(), "ms");
    return true;
}

// The explicit pairs of projection pn; their indices are checked when both sides' sizes are known.
ExplicitPairs explicit_pairs(const proto::ExplicitPairs& x, const Node& cn, const Sides& sd, const TimeBase& time,
                             Validator& v) {
    ExplicitPairs ep;
    for (int k = 0; k < x.pair_size(); ++k) {
        const auto& pr = x.pair(k);
        Node prn = cn.child("pair", pr, k);
        ExplicitPair e{pr.pre(), pr.post(), std::nullopt, std::nullopt};
        if (sd.known() && pr.pre() >= sd.ns)
            v.fail(prn, "pre", std::to_string(pr.pre()), fmt::format("must be < {} (source neurons)", sd.ns));
        if (sd.known() && pr.post() >= sd.nt)
            v.fail(prn, "post", std::to_string(pr.post()), fmt::format("must be < {} (target neurons)", sd.nt));
        if (pr.has_weight_mv() && v.finite(prn, "weight_mV", pr.weight_mv(), "mV")) e.weight_mV = pr.weight_mv();
        if (pr.has_delay_ms()) {
            if (v.finite(prn, "delay_ms", pr.delay_ms(), "ms") && !(pr.delay_ms() >= time.resolution_ms()))
                v.fail(prn, "delay_ms", num(pr.delay_ms()), fmt::format("must be >= {} (ms)", resolution_label(time)));
            e.delay_ms = pr.delay_ms();
        }
        ep.pairs.push_back(e);
    }
    return ep;
}

// The connectivity of projection pn (js: its ranges already read); all_to_all when it names none.
Connectivity connectivity(const proto::Projection& p, const Node& pn, const Sides& sd, const ProjectionSpec& js,
                          const std::vector<PopulationSpec>& pops, const TimeBase& time, Validator& v) {
    switch (p.connectivity_case()) {
        case proto::Projection::CONNECTIVITY_NOT_SET:
            v.fail_node(pn, "no connectivity: expected one of all_to_all, one_to_one, fixed_probability, "
                            "fixed_indegree, explicit");
            return AllToAll{};
        case proto::Projection::kAllToAll: return AllToAll{};
        case proto::Projection::kOneToOne:
            if (sd.known() && sd.ns != sd.nt)
                v.fail(pn, "one_to_one", "",
                       fmt::format("needs equal source and target sizes, got {} and {} (neurons)", sd.ns, sd.nt));
            return OneToOne{};
        case proto::Projection::kFixedProbability: {
            double pr = p.fixed_probability().p();
            Node cn = pn.child("fixed_probability", p.fixed_probability());
            if (!(pr >= 0 && pr <= 1)) v.fail(cn, "p", num(pr), "must be a probability in [0, 1]");
            return FixedProbability{pr};
        }
        case proto::Projection::kFixedIndegree: {
            std::uint32_t k = p.fixed_indegree().indegree();
            Node cn = pn.child("fixed_indegree", p.fixed_indegree());
            std::uint32_t pool = sd.ns;
            bool self = false;
            if (sd.known() && *sd.s == *sd.t && !p.allow_autapses()) {
                // Autapses excluded: a target inside the source range has one source fewer.
                NeuronRange sr = js.source_range.value_or(NeuronRange{0, pops[*sd.s].size});
                NeuronRange tr = js.target_range.value_or(NeuronRange{0, pops[*sd.t].size});
                self = std::max(sr.begin, tr.begin) < std::min(sr.end, tr.end);
                if (self && pool > 0) pool -= 1;
            }
            if (sd.known() && k > pool)
                v.fail(cn, "indegree", std::to_string(k),
                       fmt::format("must be <= {} (distinct sources available{})", pool,
                                   self ? ", autapses excluded" : ""));
            return FixedIndegree{k};
        }
        case proto::Projection::kExplicit:
            return explicit_pairs(p.explicit_(), pn.child("explicit", p.explicit_()), sd, time, v);
    }
    return AllToAll{};
}

// A projection of its own (not a transpose), its endpoints sd.s and sd.t already looked up.
void own_projection(const proto::Projection& p, const Node& pn, Sides sd, const std::vector<PopulationSpec>& pops,
                    const TimeBase& time, Validator& v, ProjectionSpec& js) {
    js.allow_autapses = p.allow_autapses();
    // Autapses exist within one population only: elsewhere the flag would be silently ignored.
    if (p.allow_autapses() && sd.known() && *sd.s != *sd.t)
        v.fail(pn, "allow_autapses", "true",
               fmt::format("only applies when source and target are the same population (here \"{}\" and \"{}\"): "
                           "remove it",
                           p.source(), p.target()));
    if (sd.s) {
        sd.ns = pops[*sd.s].size;
        if (p.has_source_neurons()) {
            js.source_range = neuron_range(pn, "source_neurons", p.source_neurons(), sd.ns, v);
            sd.ns = js.source_range->end > js.source_range->begin ? js.source_range->end - js.source_range->begin : 0;
        }
    }
    if (sd.t) {
        sd.nt = pops[*sd.t].size;
        if (p.has_target_neurons()) {
            js.target_range = neuron_range(pn, "target_neurons", p.target_neurons(), sd.nt, v);
            sd.nt = js.target_range->end > js.target_range->begin ? js.target_range->end - js.target_range->begin : 0;
        }
    }
    js.connectivity = connectivity(p, pn, sd, js, pops, time, v);
    // With explicit pairs that all carry their own values the projection-wide ones are optional.
    const bool explicit_pairs = p.connectivity_case() == proto::Projection::kExplicit;
    bool all_w = explicit_pairs, all_d = explicit_pairs;
    for (int k = 0; explicit_pairs && k < p.explicit_().pair_size(); ++k) {
        all_w = all_w && p.explicit_().pair(k).has_weight_mv();
        all_d = all_d && p.explicit_().pair(k).has_delay_ms();
    }
    if (auto d = v.distribution(pn, "weight_mV", p.weight_mv(), "mV", !all_w)) js.weight_mV = *d;
    if (auto d = v.distribution(pn, "delay_ms", p.delay_ms(), "ms", !all_d, time.resolution_ms(), resolution_label(time)))
        js.delay_ms = *d;
    js.dendritic_delay_ms = p.dendritic_delay_ms();
    v.non_negative(pn, "dendritic_delay_ms", p.dendritic_delay_ms(), "ms");
    if (p.has_plasticity())
        js.plasticity = load_plasticity(p.plasticity(), pn.child("plasticity", p.plasticity()), js, time.resolution_ms(), v);
    // A conductance input's PSP depends on V: there is no fixed own PSP to take out of V(t + T).
    const auto* vs = js.plasticity ? std::get_if<VoltageSlopeParams>(&js.plasticity->rule) : nullptr;
    if (vs && vs->exclude_own_psp && sd.t && std::holds_alternative<LifCondExpParams>(pops[*sd.t].model)) {
        const Node rn = pn.child("plasticity", p.plasticity()).child("voltage_slope", p.plasticity().voltage_slope());
        v.fail(rn, "exclude_own_psp", "true",
               "lif_cond_exp has no fixed PSP to remove (a conductance input's effect depends on V): set it to false");
    }
    // AdEx has no exact one either (its membrane is non-linear); it removes the linearised
    // PSP, the jump decaying with c/g_leak (AdExPopulation::psp_mV, docs/models.md).
}

}  // namespace

NeuronRange neuron_range(const Node& pn, const char* field, const proto::NeuronRange& r, std::uint32_t size,
                         Validator& v) {
    Node rn = pn.child(field, r);
    if (!(r.end() > r.begin()))
        v.fail(rn, "end", std::to_string(r.end()), fmt::format("must be > begin = {} (neuron index)", r.begin()));
    else if (r.end() > size)
        v.fail(rn, "end", std::to_string(r.end()), fmt::format("must be <= the population size {} (neuron index)", size));
    return NeuronRange{r.begin(), r.end()};
}

void load_projections(const proto::Spec& spec, const Node& root, const PopulationIndex& pops, const TimeBase& time,
                      Validator& v, NetworkSpec& out) {
    std::set<std::string> proj_names;
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
        Sides sd;
        sd.s = pops.lookup(v, pn, "source", p.source(), false);
        // A spike source may be the target of a spike-pair rule: it ignores the
        // input, and its spikes are the postsynaptic train the rule sees.
        const bool pair_rule = p.has_plasticity() && (p.plasticity().has_pair_stdp() ||
                                                      p.plasticity().has_triplet_stdp() ||
                                                      p.plasticity().has_rate_slope() ||
                                                      p.plasticity().has_inhibitory_stdp());
        sd.t = pops.lookup(v, pn, "target", p.target(), !pair_rule);
        if (!p.transpose_of().empty()) {
            if (!transpose(pn, p, out.projections, time, v, js)) continue;
        } else {
            own_projection(p, pn, sd, out.populations, time, v, js);
        }
        out.projections.push_back(std::move(js));
    }
}

}  // namespace spikeem::io::loader
