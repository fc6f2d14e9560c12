#include "network/simulation.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <stdexcept>

namespace spikeem {

namespace {
std::size_t total_neurons(const NetworkSpec& s) {
    std::size_t n = 0;
    for (const auto& p : s.populations) n += p.size;
    return n;
}
}  // namespace

Simulation::Simulation(NetworkSpec spec)
    : spec_(std::move(spec)), time_(spec_.run.time_digits), own_(total_neurons(spec_)) {
    const std::uint64_t seed = spec_.run.seed;
    std::uint32_t offset = 0;
    for (std::size_t i = 0; i < spec_.populations.size(); ++i) {
        const auto& ps = spec_.populations[i];
        offsets_.push_back(offset);
        populations_.push_back(make_population(ps, static_cast<std::uint32_t>(i), offset, time_, seed));
        offset += ps.size;
    }
    offsets_.push_back(offset);

    auto find_pop = [&](const std::string& name) {
        for (std::size_t i = 0; i < populations_.size(); ++i)
            if (populations_[i]->name() == name) return static_cast<std::uint32_t>(i);
        throw std::invalid_argument("unknown population \"" + name + "\"");
    };
    outgoing_.resize(populations_.size());
    plastic_in_.resize(populations_.size());
    projections_.reserve(spec_.projections.size());
    for (std::size_t j = 0; j < spec_.projections.size(); ++j) {
        const auto& pj = spec_.projections[j];
        std::uint32_t s = find_pop(pj.source), t = find_pop(pj.target);
        if (pj.transpose_of.empty()) {
            projections_.emplace_back(pj, static_cast<std::uint32_t>(j), s, t, populations_[s]->size(),
                                      populations_[t]->size(), s == t, time_, seed);
        } else {
            std::size_t partner = 0;
            while (projections_[partner].name() != pj.transpose_of) ++partner;  // the loader checked it exists
            projections_.emplace_back(pj, static_cast<std::uint32_t>(j), s, t, populations_[s]->size(),
                                      populations_[t]->size(), projections_[partner], time_, seed);
            // projections_ was reserved: both addresses are final.
            Projection::tie(projections_.back(), projections_[partner]);
        }
        outgoing_[s].push_back(static_cast<std::uint32_t>(j));
        if (projections_.back().plastic()) plastic_in_[t].push_back(static_cast<std::uint32_t>(j));
    }

    record_spikes_.assign(populations_.size(), false);
    for (const auto& name : spec_.record.spike_populations) record_spikes_[find_pop(name)] = true;
    for (std::size_t k = 0; k < spec_.record.voltages.size(); ++k) {
        const auto& vp = spec_.record.voltages[k];
        Probe probe{find_pop(vp.population), vp.neurons, std::max<Tick>(time_.round(vp.interval_ms), 1)};
        if (probe.neurons.empty())
            for (std::uint32_t i = 0; i < populations_[probe.population]->size(); ++i) probe.neurons.push_back(i);
        probes_.push_back(std::move(probe));
        queue_.push(Event{0, static_cast<std::uint32_t>(k), 0, 0, EventKind::Sample});
    }
    for (std::size_t k = 0; k < spec_.record.weights.size(); ++k) {
        const auto& wp = spec_.record.weights[k];
        std::uint32_t j = 0;
        while (j < projections_.size() && projections_[j].name() != wp.projection) ++j;
        if (j == projections_.size()) throw std::invalid_argument("unknown projection \"" + wp.projection + "\"");
        WeightProbe probe{j, {}, {}, {}, std::max<Tick>(time_.round(wp.interval_ms), 1)};
        const std::vector<WeightSample> all = weights_now(j);
        for (std::size_t q = 0; q < all.size(); ++q) {
            bool wanted = wp.pairs.empty();
            for (const auto& [pre, post] : wp.pairs) wanted = wanted || (pre == all[q].pre && post == all[q].post);
            if (!wanted) continue;
            probe.synapses.push_back(static_cast<std::uint32_t>(q));
            probe.pre.push_back(all[q].pre);
            probe.post.push_back(all[q].post);
        }
        weight_probes_.push_back(std::move(probe));
        queue_.push(Event{0, static_cast<std::uint32_t>(k), 1, 0, EventKind::Sample});
    }

    rate_in_.resize(populations_.size());
    for (std::size_t k = 0; k < spec_.record.rates.size(); ++k) {
        const auto& rp = spec_.record.rates[k];
        RateProbe probe{find_pop(rp.population), rp.neurons, std::max<Tick>(time_.round(rp.interval_ms), 1),
                        rp.readout, std::max<Tick>(time_.round(rp.window_ms), 1), rp.tau_ms, {}, {}, {}, {}, {}};
        const std::uint32_t size = populations_[probe.population]->size();
        std::uint32_t slots = size;
        if (probe.neurons.empty()) {
            for (std::uint32_t i = 0; i < size; ++i) probe.neurons.push_back(i);
        } else {
            // One state per distinct neuron, however often it is listed.
            probe.slot.assign(size, UINT32_MAX);
            slots = 0;
            for (std::uint32_t i : probe.neurons)
                if (probe.slot[i] == UINT32_MAX) probe.slot[i] = slots++;
        }
        if (probe.readout == RateReadout::Count) probe.recent.resize(slots);
        if (probe.readout == RateReadout::Exp) {
            probe.trace.assign(slots, 0.0);
            probe.trace_t.assign(slots, 0);
            probe.trace_n.assign(slots, 0);
        }
        if (probe.readout != RateReadout::Model) rate_in_[probe.population].push_back(static_cast<std::uint32_t>(k));
        rate_probes_.push_back(std::move(probe));
        queue_.push(Event{0, static_cast<std::uint32_t>(k), 2, 0, EventKind::Sample});
    }

    spike_count_.assign(populations_.size(), 0);
    last_spike_.assign(offset, -1);
    isi_n_.assign(offset, 0);
    isi_mean_.assign(offset, 0.0);
    isi_m2_.assign(offset, 0.0);

    for (auto& p : populations_) p->start(*this);
}

std::uint32_t Simulation::population_of(std::uint32_t global) const {
    auto it = std::upper_bound(offsets_.begin(), offsets_.end(), global);
    return static_cast<std::uint32_t>(it - offsets_.begin() - 1);
}

void Simulation::run_until(Tick end) {
    events_processed_ += spikeem::run_until(queue_, own_, *this, end);
    now_ = std::max(now_, end);
}

void Simulation::handle(const Event& e) {
    switch (e.kind) {
        case EventKind::Deliver: {
            Projection& pj = projections_[e.aux];
            const DelayGroup& g = pj.group(e.aux2);
            const std::uint32_t n = pj.group_size(e.aux2);
            synaptic_events_ += n;
            Population& post = *populations_[pj.target_population()];
            const bool slope = pj.voltage_rule() && pj.slope_before_transmit(e.t, e.aux2, post);
            post.deliver(*this, e.t, pj.targets() + g.begin, pj.weights() + g.begin, n);
            if (pj.plastic()) pj.pre_arrival(e.t, e.aux2);  // transmit first, then learn
            if (slope && pj.slope_after_transmit())
                queue_.push(Event{e.t + pj.voltage_rule()->window(), e.src, e.aux, e.aux2, EventKind::ProbeAfter});
            break;
        }
        case EventKind::ProbeBefore: {
            Projection& pj = projections_[e.aux];
            pj.slope_before_arrival(e.t, e.aux2, *populations_[pj.target_population()]);
            break;
        }
        case EventKind::ProbeAfter: {
            Projection& pj = projections_[e.aux];
            pj.slope_probe(e.t, *populations_[pj.target_population()]);
            break;
        }
        case EventKind::PostArrive: {
            Projection& pj = projections_[e.aux];
            pj.post_arrival(e.t, e.src - offsets_[pj.target_population()]);
            break;
        }
        case EventKind::SourceFire:
        case EventKind::Crossing: {
            const std::uint32_t p = population_of(e.src);
            populations_[p]->on_event(*this, e, e.src - offsets_[p]);
            break;
        }
        case EventKind::Sample: {
            if (e.aux == 2) {
                RateProbe& probe = rate_probes_[e.src];
                for (std::uint32_t i : probe.neurons)
                    rate_samples_.push_back({e.t, e.src, probe.population, i, probe.readout, rate_read(probe, i, e.t)});
                queue_.push(Event{e.t + probe.interval, e.src, 2, 0, EventKind::Sample});
                break;
            }
            if (e.aux == 1) {
                const WeightProbe& probe = weight_probes_[e.src];
                const double* w = projections_[probe.projection].weights();
                for (std::size_t i = 0; i < probe.synapses.size(); ++i)
                    weight_samples_.push_back({e.t, probe.projection, probe.pre[i], probe.post[i], w[probe.synapses[i]]});
                queue_.push(Event{e.t + probe.interval, e.src, 1, 0, EventKind::Sample});
                break;
            }
            const Probe& probe = probes_[e.src];
            Population& pop = *populations_[probe.population];
            for (std::uint32_t i : probe.neurons)
                voltages_.push_back({e.t, probe.population, i, pop.observe_voltage_mV(i, e.t)});
            queue_.push(Event{e.t + probe.interval, e.src, 0, 0, EventKind::Sample});
            break;
        }
    }
}

void Simulation::emit_spike(std::uint32_t population, std::uint32_t neuron, Tick t) {
    const std::uint32_t global = offsets_[population] + neuron;
    ++spike_count_[population];
    if (last_spike_[global] >= 0) {
        double isi = static_cast<double>(t - last_spike_[global]);
        double n = ++isi_n_[global];
        double delta = isi - isi_mean_[global];
        isi_mean_[global] += delta / n;
        isi_m2_[global] += delta * (isi - isi_mean_[global]);
    }
    last_spike_[global] = t;
    if (record_spikes_[population]) spikes_.push_back({t, population, neuron});
    for (std::uint32_t k : rate_in_[population]) rate_spike(rate_probes_[k], neuron, t);
    for (std::uint32_t j : outgoing_[population]) {
        const Projection& pj = projections_[j];
        const bool central = pj.voltage_rule() && pj.voltage_rule()->estimate() == SlopeEstimate::Central;
        for (std::uint32_t g = pj.group_begin(neuron); g < pj.group_end(neuron); ++g) {
            queue_.push(Event{t + pj.group(g).delay, global, j, g, EventKind::Deliver});
            // Validation guarantees axonal delay >= T, so this is not in the past.
            if (central)
                queue_.push(Event{t + pj.group(g).delay - pj.voltage_rule()->window(), global, j, g,
                                  EventKind::ProbeBefore});
        }
    }
    for (std::uint32_t j : plastic_in_[population])
        queue_.push(Event{projections_[j].post_arrival_time(t), global, j, 0, EventKind::PostArrive});
}

void Simulation::rate_spike(RateProbe& probe, std::uint32_t neuron, Tick t) {
    std::uint32_t s = neuron;
    if (!probe.slot.empty() && (s = probe.slot[neuron]) == UINT32_MAX) return;
    if (probe.readout == RateReadout::Count) {
        std::deque<Tick>& q = probe.recent[s];
        q.push_back(t);
        // No later read looks before t - window.
        while (q.front() < t - probe.window) q.pop_front();
        return;
    }
    // Exp: keep x just before the last spike time and the spikes at it, so a
    // read at that very time sees x(t-) without subtracting anything.
    if (t == probe.trace_t[s]) {
        ++probe.trace_n[s];
    } else {
        probe.trace[s] = (probe.trace[s] + probe.trace_n[s]) * std::exp(-time_.to_ms(t - probe.trace_t[s]) / probe.tau_ms);
        probe.trace_t[s] = t;
        probe.trace_n[s] = 1;
    }
}

double Simulation::rate_read(RateProbe& probe, std::uint32_t neuron, Tick t) {
    if (probe.readout == RateReadout::Model) return populations_[probe.population]->model_rate_hz(neuron, t);
    const std::uint32_t s = probe.slot.empty() ? neuron : probe.slot[neuron];
    if (probe.readout == RateReadout::Count) {
        std::deque<Tick>& q = probe.recent[s];
        while (!q.empty() && q.front() < t - probe.window) q.pop_front();
        std::size_t n = q.size();
        for (auto it = q.rbegin(); it != q.rend() && *it >= t; ++it) --n;  // [t - window, t): not those at t
        return static_cast<double>(n) / time_.to_ms(probe.window) * 1000.0;
    }
    double x = probe.trace[s];
    if (t != probe.trace_t[s])
        x = (x + probe.trace_n[s]) * std::exp(-time_.to_ms(t - probe.trace_t[s]) / probe.tau_ms);
    return x / probe.tau_ms * 1000.0;
}

std::vector<WeightSample> Simulation::weights_now(std::size_t j) const {
    const Projection& pj = projections_[j];
    std::vector<WeightSample> out;
    out.reserve(pj.num_synapses());
    const std::uint32_t sources = populations_[pj.source_population()]->size();
    for (std::uint32_t s = 0; s < sources; ++s)
        for (std::uint32_t g = pj.group_begin(s); g < pj.group_end(s); ++g)
            for (std::uint32_t k = pj.group(g).begin; k < pj.group(g).begin + pj.group_size(g); ++k)
                out.push_back({now_, static_cast<std::uint32_t>(j), s, pj.targets()[k], pj.weights()[k]});
    return out;
}

void Simulation::set_drive(std::size_t population, std::uint32_t neuron, double drive_mV) {
    auto* p = dynamic_cast<StochasticPopulation*>(populations_[population].get());
    if (p == nullptr) throw std::invalid_argument("set_drive: population \"" + populations_[population]->name() +
                                                  "\" is not stochastic");
    p->set_drive(*this, neuron, now_, drive_mV);
}

void Simulation::set_rate(std::size_t population, std::uint32_t neuron, double rate_hz) {
    auto* p = dynamic_cast<PoissonPopulation*>(populations_[population].get());
    if (p == nullptr) throw std::invalid_argument("set_rate: population \"" + populations_[population]->name() +
                                                  "\" is not a Poisson source");
    p->set_rate(*this, neuron, now_, rate_hz);
}

std::vector<SpikeRecord> Simulation::sorted_spikes() const {
    std::vector<SpikeRecord> out = spikes_;
    std::stable_sort(out.begin(), out.end(), [](const SpikeRecord& a, const SpikeRecord& b) {
        if (a.t != b.t) return a.t < b.t;
        if (a.population != b.population) return a.population < b.population;
        return a.neuron < b.neuron;
    });
    return out;
}

PopulationSummary Simulation::summary(std::size_t p) const {
    const Population& pop = *populations_[p];
    PopulationSummary s;
    s.name = pop.name();
    s.model = pop.model();
    s.neurons = pop.size();
    s.spikes = spike_count_[p];
    const double seconds = time_.to_ms(now_) / 1000.0;
    s.mean_rate_hz = (pop.size() > 0 && seconds > 0) ? static_cast<double>(s.spikes) / pop.size() / seconds : 0.0;
    double cv_sum = 0.0;
    for (std::uint32_t i = 0; i < pop.size(); ++i) {
        const std::uint32_t g = offsets_[p] + i;
        if (isi_n_[g] < 2 || isi_mean_[g] <= 0.0) continue;
        cv_sum += std::sqrt(isi_m2_[g] / isi_n_[g]) / isi_mean_[g];
        ++s.neurons_with_cv;
    }
    if (s.neurons_with_cv > 0) {
        s.has_cv = true;
        s.mean_cv_isi = cv_sum / s.neurons_with_cv;
    }
    return s;
}

}  // namespace spikeem
