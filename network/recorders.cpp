#include "network/recorders.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace spikeem {

namespace {
// Room for `more` elements: an output grows over many run_until calls (a
// driver's chunks), so never to an exact fit, which would copy it every call.
template <class T>
void make_room(std::vector<T>& v, std::size_t more) {
    if (v.size() + more > v.capacity()) v.reserve(std::max(v.size() + more, 2 * v.capacity()));
}
Tick interval_ticks(const TimeBase& time, double interval_ms) { return std::max<Tick>(time.round(interval_ms), 1); }
// A window's end in ticks; kNever for none (or beyond any run).
Tick stop_ticks(const TimeBase& time, double stop_ms) {
    if (!(stop_ms * static_cast<double>(time.ticks_per_ms()) < 9.0e18)) return kNever;
    return time.round(stop_ms);
}
}  // namespace

Tick Recorders::Grid::first() const {
    const Tick t = (start + interval - 1) / interval * interval;
    return t < stop ? t : kNever;
}

Tick Recorders::Grid::next(Tick t) const { return t < stop - interval ? t + interval : kNever; }

std::size_t Recorders::Grid::count(Tick from, Tick to) const {
    // Multiples of interval in [0, x).
    const auto upto = [&](Tick x) { return x <= 0 ? Tick{0} : (x - 1) / interval + 1; };
    const Tick lo = std::max(from, start), hi = std::min(to, stop);
    return hi > lo ? static_cast<std::size_t>(upto(hi) - upto(lo)) : 0;
}

Recorders::Grid Recorders::grid(double interval_ms, const RecordWindow& w) const {
    return Grid{interval_ticks(time_, interval_ms), time_.round(w.start_ms), stop_ticks(time_, w.stop_ms)};
}

Recorders::SpikeFilter Recorders::filter(const RecordWindow& w, std::uint32_t size,
                                         const std::vector<std::uint32_t>& neurons) const {
    SpikeFilter f{time_.round(w.start_ms), stop_ticks(time_, w.stop_ms), {}};
    if (!neurons.empty()) {
        f.watched.assign(size, false);
        for (std::uint32_t i : neurons) f.watched[i] = true;
    }
    return f;
}

std::vector<WeightSample> weights_of(const Network& net, std::size_t j, Tick t) {
    const Projection& pj = net.projection(j);
    std::vector<WeightSample> out;
    out.reserve(pj.num_synapses());
    const std::uint32_t sources = net.population(pj.source_population()).size();
    for (std::uint32_t s = 0; s < sources; ++s)
        for (std::uint32_t g = pj.group_begin(s); g < pj.group_end(s); ++g)
            for (std::uint32_t k = pj.group(g).begin; k < pj.group(g).begin + pj.group_size(g); ++k)
                out.push_back({t, static_cast<std::uint32_t>(j), s, pj.targets()[k], pj.weight(k)});
    return out;
}

Recorders::Recorders(const NetworkSpec& spec, const Network& net, const TimeBase& time, std::uint32_t partitions,
                     const Owner& owner)
    : time_(time), shares_(partitions), first_(partitions) {
    for (Share& s : shares_) s.spike_count.assign(net.num_populations(), 0);
    record_spikes_.assign(net.num_populations(), false);
    for (const auto& name : spec.record.spike_populations) record_spikes_[net.find_population(name)] = true;
    add_voltage_probes(spec, net, owner);
    add_weight_probes(spec, net, owner);
    add_rate_probes(spec, net, owner);
    add_spike_probes(spec, net);
    add_population_rate_probes(spec, net);
    isi_.assign(net.num_neurons(), IsiStats{});
}

void Recorders::share(std::vector<std::vector<std::uint32_t>> Share::*pos, std::uint32_t k, SampleKind kind,
                      std::uint32_t population, const std::vector<std::uint32_t>& neurons, const Owner& owner) {
    for (std::uint32_t q = 0; q < shares_.size(); ++q) {
        std::vector<std::uint32_t> mine;
        for (std::uint32_t i = 0; i < neurons.size(); ++i)
            if (owner(population, neurons[i]) == q) mine.push_back(i);
        if (q == 0 || !mine.empty()) first_[q].emplace_back(k, kind);
        (shares_[q].*pos).push_back(std::move(mine));
    }
}

void Recorders::add_voltage_probes(const NetworkSpec& spec, const Network& net, const Owner& owner) {
    for (std::size_t k = 0; k < spec.record.voltages.size(); ++k) {
        const auto& vp = spec.record.voltages[k];
        VoltageProbe probe{net.find_population(vp.population), vp.neurons,
                           grid(vp.interval_ms, window_of(spec.record.voltage_windows, k))};
        if (probe.neurons.empty())
            for (std::uint32_t i = 0; i < net.population(probe.population).size(); ++i) probe.neurons.push_back(i);
        share(&Share::vpos, static_cast<std::uint32_t>(k), SampleKind::Voltage, probe.population, probe.neurons,
              owner);
        voltage_probes_.push_back(std::move(probe));
    }
    voltage_values_.resize(voltage_probes_.size());
}

void Recorders::add_weight_probes(const NetworkSpec& spec, const Network& net, const Owner& owner) {
    for (std::size_t k = 0; k < spec.record.weights.size(); ++k) {
        const auto& wp = spec.record.weights[k];
        const std::uint32_t j = net.find_projection(wp.projection);
        WeightProbe probe{j, {}, {}, {}, grid(wp.interval_ms, window_of(spec.record.weight_windows, k))};
        const std::vector<WeightSample> all = weights_of(net, j, 0);
        std::vector<bool> found(wp.pairs.size(), false);
        for (std::size_t q = 0; q < all.size(); ++q) {
            bool wanted = wp.pairs.empty();
            for (std::size_t r = 0; r < wp.pairs.size(); ++r)
                if (wp.pairs[r].first == all[q].pre && wp.pairs[r].second == all[q].post) wanted = found[r] = true;
            if (!wanted) continue;
            probe.synapses.push_back(static_cast<std::uint32_t>(q));
            probe.pre.push_back(all[q].pre);
            probe.post.push_back(all[q].post);
        }
        // The loader refuses pairs that cannot have a synapse; whether a random
        // connectivity drew one is known only now.  A probe that would record
        // nothing for a pair is a mistake to say, not an empty column.
        for (std::size_t r = 0; r < wp.pairs.size(); ++r)
            if (!found[r])
                throw std::invalid_argument(fmt::format(
                    "record.weights[{}]: projection \"{}\" has no synapse from {} to {} (its connectivity did not "
                    "draw one with this seed): probe a pair it has",
                    k, wp.projection, wp.pairs[r].first, wp.pairs[r].second));
        // A synapse's weight belongs to the partition owning its target.
        share(&Share::wpos, static_cast<std::uint32_t>(k), SampleKind::Weight,
              net.projection(j).target_population(), probe.post, owner);
        weight_probes_.push_back(std::move(probe));
    }
}

void Recorders::add_rate_probes(const NetworkSpec& spec, const Network& net, const Owner& owner) {
    rate_in_.resize(net.num_populations());
    for (std::size_t k = 0; k < spec.record.rates.size(); ++k) {
        const auto& rp = spec.record.rates[k];
        RateProbe probe{net.find_population(rp.population),
                        rp.neurons,
                        grid(rp.interval_ms, window_of(spec.record.rate_windows, k)),
                        rp.readout,
                        interval_ticks(time_, rp.window_ms),
                        rp.tau_ms,
                        {}, {}, {}, {}, {}};
        const std::uint32_t size = net.population(probe.population).size();
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
        share(&Share::rpos, static_cast<std::uint32_t>(k), SampleKind::Rate, probe.population, probe.neurons, owner);
        rate_probes_.push_back(std::move(probe));
    }
}

void Recorders::add_spike_probes(const NetworkSpec& spec, const Network& net) {
    spike_probes_.resize(net.num_populations());
    for (const auto& sp : spec.record.spike_probes) {
        const std::uint32_t p = net.find_population(sp.population);
        spike_probes_[p].push_back(filter(sp.window, net.population(p).size(), sp.neurons));
    }
}

void Recorders::add_population_rate_probes(const NetworkSpec& spec, const Network& net) {
    population_rate_in_.resize(net.num_populations());
    for (std::size_t k = 0; k < spec.record.population_rates.size(); ++k) {
        const auto& pr = spec.record.population_rates[k];
        const std::uint32_t p = net.find_population(pr.population);
        const std::uint32_t size = net.population(p).size();
        population_rate_probes_.push_back({p, filter(pr.window, size, pr.neurons), interval_ticks(time_, pr.bin_ms),
                                           pr.neurons.empty() ? size : static_cast<std::uint32_t>(pr.neurons.size())});
        population_rate_in_[p].push_back(static_cast<std::uint32_t>(k));
    }
    for (Share& sh : shares_) sh.bin_count.resize(population_rate_probes_.size());
    bin_base_.assign(population_rate_probes_.size(), 0);
}

std::vector<Event> Recorders::first_samples(std::uint32_t q) const {
    std::vector<Event> out;
    for (const auto& [k, kind] : first_[q]) {
        const Grid& g = kind == SampleKind::Voltage  ? voltage_probes_[k].grid
                        : kind == SampleKind::Weight ? weight_probes_[k].grid
                                                     : rate_probes_[k].grid;
        if (g.first() != kNever) out.push_back(Event{g.first(), k, static_cast<std::uint32_t>(kind), 0, EventKind::Sample});
    }
    return out;
}

void Recorders::on_spike(std::uint32_t q, std::uint32_t p, std::uint32_t neuron, std::uint32_t global, Tick t) {
    Share& sh = shares_[q];
    ++sh.spike_count[p];
    IsiStats& st = isi_[global];
    if (st.last >= 0) {
        double isi = static_cast<double>(t - st.last);
        double n = ++st.n;
        double delta = isi - st.mean;
        st.mean += delta / n;
        st.m2 += delta * (isi - st.mean);
    }
    st.last = t;
    bool wanted = record_spikes_[p];
    for (const SpikeFilter& f : spike_probes_[p]) wanted = wanted || f.wants(neuron, t);
    if (wanted) sh.spikes.push_back({t, p, neuron});
    for (std::uint32_t k : rate_in_[p]) rate_spike(rate_probes_[k], neuron, t);
    for (std::uint32_t k : population_rate_in_[p]) {
        const PopulationRateProbe& probe = population_rate_probes_[k];
        if (!probe.filter.wants(neuron, t)) continue;
        // Bins before bin_base_ were drained: no spike of this run_until call falls in them.
        const auto bin = static_cast<std::size_t>((t - probe.filter.start) / probe.bin) - bin_base_[k];
        std::vector<std::uint64_t>& count = sh.bin_count[k];
        if (bin >= count.size()) count.resize(std::max(bin + 1, 2 * count.size()), 0);
        ++count[bin];
    }
}

template <class Sample>
void Recorders::record(std::vector<Keyed<Sample>>& mine, std::vector<Sample>& out, std::uint32_t probe,
                       std::uint32_t pos, const Sample& s) {
    if (shares_.size() == 1) out.push_back(s);
    else mine.push_back({probe, pos, s});
}

Event Recorders::sample(std::uint32_t q, const Event& e, Network& net) {
    Share& sh = shares_[q];
    const std::uint32_t k = e.src;
    switch (static_cast<SampleKind>(e.aux)) {
        case SampleKind::Rate: {
            RateProbe& probe = rate_probes_[k];
            for (std::uint32_t pos : sh.rpos[k]) {
                const std::uint32_t i = probe.neurons[pos];
                record(sh.rate_samples, rate_samples_, k, pos,
                       {e.t, k, probe.population, i, probe.readout, rate_read(probe, net, i, e.t)});
            }
            return Event{probe.grid.next(e.t), k, e.aux, 0, EventKind::Sample};
        }
        case SampleKind::Weight: {
            const WeightProbe& probe = weight_probes_[k];
            const Projection& pj = net.projection(probe.projection);
            for (std::uint32_t pos : sh.wpos[k])
                record(sh.weight_samples, weight_samples_, k, pos,
                       {e.t, probe.projection, probe.pre[pos], probe.post[pos], pj.weight(probe.synapses[pos]), k});
            return Event{probe.grid.next(e.t), k, e.aux, 0, EventKind::Sample};
        }
        case SampleKind::Voltage:
            break;
    }
    const VoltageProbe& probe = voltage_probes_[k];
    VoltageValues& held = voltage_values_[k];
    Population& pop = net.population(probe.population);
    // reserve() made room for this sample: partitions write their own positions of its row.
    assert(probe.grid.index(e.t) >= held.first &&
           (probe.grid.index(e.t) - held.first + 1) * probe.neurons.size() <= held.v_mV.size());
    double* row = held.v_mV.data() + (probe.grid.index(e.t) - held.first) * probe.neurons.size();
    pop.observe_voltages_mV(probe.neurons.data(), sh.vpos[k].data(), sh.vpos[k].size(), e.t, row);
    return Event{probe.grid.next(e.t), k, e.aux, 0, EventKind::Sample};
}

void Recorders::rate_spike(RateProbe& probe, std::uint32_t neuron, Tick t) {
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

double Recorders::rate_read(RateProbe& probe, Network& net, std::uint32_t neuron, Tick t) {
    if (probe.readout == RateReadout::Model) return net.population(probe.population).model_rate_hz(neuron, t);
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

void Recorders::reserve(Tick now, Tick end) {
    // Voltage values: every sample before `end`, each at its place (sample() writes in place).
    for (std::size_t k = 0; k < voltage_probes_.size(); ++k) {
        const VoltageProbe& probe = voltage_probes_[k];
        VoltageValues& held = voltage_values_[k];
        const std::size_t samples = probe.grid.count(0, end);
        if (samples <= held.first) continue;
        const std::size_t values = (samples - held.first) * probe.neurons.size();
        if (values <= held.v_mV.size()) continue;
        make_room(held.v_mV, values - held.v_mV.size());
        held.v_mV.resize(values);
    }
    voltage_rows_built_ = false;
    for (Share& sh : shares_) {
        std::size_t w = 0, r = 0;
        for (std::size_t k = 0; k < weight_probes_.size(); ++k) w += sh.wpos[k].size() * weight_probes_[k].grid.count(now, end);
        for (std::size_t k = 0; k < rate_probes_.size(); ++k) r += sh.rpos[k].size() * rate_probes_[k].grid.count(now, end);
        if (shares_.size() == 1) {  // recorded straight into the outputs
            make_room(weight_samples_, w);
            make_room(rate_samples_, r);
        } else {
            make_room(sh.weight_samples, w);
            make_room(sh.rate_samples, r);
        }
    }
}

std::size_t Recorders::voltage_rows_held() const {
    std::size_t n = 0;
    for (const VoltageValues& held : voltage_values_) n += held.v_mV.size();
    return n;
}

std::vector<VoltageSample> Recorders::voltage_rows() const {
    std::vector<VoltageSample> rows;
    rows.reserve(voltage_rows_held());
    // Merge the probes' samples by time; at one tick the lower probe index first.
    const std::size_t probes = voltage_probes_.size();
    std::vector<std::size_t> next(probes, 0), count(probes, 0);  // samples taken / held, per probe
    for (std::size_t k = 0; k < probes; ++k)
        if (const std::size_t n = voltage_probes_[k].neurons.size(); n > 0) count[k] = voltage_values_[k].v_mV.size() / n;
    const auto time_of = [&](std::size_t k) { return held_time(k, next[k]); };
    for (;;) {
        std::size_t best = probes;
        Tick t = kNever;
        for (std::size_t k = 0; k < probes; ++k)
            if (next[k] < count[k] && (best == probes || time_of(k) < t)) best = k, t = time_of(k);
        if (best == probes) break;
        const VoltageProbe& probe = voltage_probes_[best];
        const std::size_t n = probe.neurons.size();
        const double* v = voltage_values_[best].v_mV.data() + next[best] * n;
        for (std::size_t pos = 0; pos < n; ++pos)
            rows.push_back({t, probe.population, probe.neurons[pos], v[pos], static_cast<std::uint32_t>(best)});
        ++next[best];
    }
    return rows;
}

std::vector<Tick> Recorders::voltage_times(std::size_t k) const {
    const std::size_t n = voltage_probes_[k].neurons.size();
    std::vector<Tick> t(n > 0 ? voltage_values_[k].v_mV.size() / n : 0);
    for (std::size_t s = 0; s < t.size(); ++s) t[s] = held_time(k, s);
    return t;
}

const std::vector<VoltageSample>& Recorders::voltages() const {
    if (!voltage_rows_built_) {
        voltage_rows_ = voltage_rows();
        voltage_rows_built_ = true;
    }
    return voltage_rows_;
}

namespace {
// Samples of one tick come by probe, then by position in the probe's list.
template <class Keyed, class Sample>
void merge_keyed(std::vector<Sample>& out, std::vector<Keyed>& all) {
    std::sort(all.begin(), all.end(), [](const Keyed& a, const Keyed& b) {
        if (a.s.t != b.s.t) return a.s.t < b.s.t;
        if (a.probe != b.probe) return a.probe < b.probe;
        return a.pos < b.pos;
    });
    for (const auto& k : all) out.push_back(k.s);
}
}  // namespace

void Recorders::collect() {
    if (shares_.size() == 1) {
        Share& sh = shares_[0];
        if (spikes_.empty()) spikes_.swap(sh.spikes);  // a whole run: no copy
        else spikes_.insert(spikes_.end(), sh.spikes.begin(), sh.spikes.end());
        // Samples went straight into the outputs (record; voltages: sample).
    } else {
        std::vector<Keyed<WeightSample>> w;
        std::vector<Keyed<RateSample>> r;
        for (Share& sh : shares_) {
            spikes_.insert(spikes_.end(), sh.spikes.begin(), sh.spikes.end());
            w.insert(w.end(), sh.weight_samples.begin(), sh.weight_samples.end());
            r.insert(r.end(), sh.rate_samples.begin(), sh.rate_samples.end());
        }
        // Everything recorded in this call lies before its end, everything later after it.
        merge_keyed(weight_samples_, w);
        merge_keyed(rate_samples_, r);
    }
    // Released, not kept: after a long run they are as large as the outputs.
    for (Share& sh : shares_) {
        std::vector<SpikeRecord>().swap(sh.spikes);
        std::vector<Keyed<WeightSample>>().swap(sh.weight_samples);
        std::vector<Keyed<RateSample>>().swap(sh.rate_samples);
    }
}

namespace {
void sort_spikes(std::vector<SpikeRecord>& spikes) {
    std::stable_sort(spikes.begin(), spikes.end(), [](const SpikeRecord& a, const SpikeRecord& b) {
        if (a.t != b.t) return a.t < b.t;
        if (a.population != b.population) return a.population < b.population;
        return a.neuron < b.neuron;
    });
}
}  // namespace

std::vector<SpikeRecord> Recorders::sorted_spikes() const {
    std::vector<SpikeRecord> out = spikes_;
    sort_spikes(out);
    return out;
}

std::vector<PopulationRateSample> Recorders::population_rates(Tick now) const {
    std::vector<Tick> whole(population_rate_probes_.size());
    for (std::uint32_t k = 0; k < population_rate_probes_.size(); ++k) whole[k] = whole_bins(k, now);
    return bins_before(whole, kNever);
}

Tick Recorders::whole_bins(std::uint32_t k, Tick now) const {
    const PopulationRateProbe& probe = population_rate_probes_[k];
    const Tick end = std::min(now, probe.filter.stop);
    return end > probe.filter.start ? (end - probe.filter.start) / probe.bin : 0;
}

std::vector<PopulationRateSample> Recorders::bins_before(const std::vector<Tick>& whole, Tick before) const {
    std::vector<PopulationRateSample> out;
    for (std::uint32_t k = 0; k < population_rate_probes_.size(); ++k) {
        const PopulationRateProbe& probe = population_rate_probes_[k];
        // Exact: the bin in ms is the double nearest the decimal number of ticks.
        const double bin_ms = static_cast<double>(probe.bin) / static_cast<double>(time_.ticks_per_ms());
        for (auto b = static_cast<Tick>(bin_base_[k]); b < whole[k]; ++b) {
            const Tick start = probe.filter.start + b * probe.bin;
            if (start >= before) break;
            const auto i = static_cast<std::size_t>(b) - bin_base_[k];
            std::uint64_t spikes = 0;
            for (const Share& sh : shares_)
                if (i < sh.bin_count[k].size()) spikes += sh.bin_count[k][i];
            out.push_back({start, k, probe.population, spikes,
                           static_cast<double>(spikes) * 1000.0 / (probe.neurons * bin_ms)});
        }
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const PopulationRateSample& a, const PopulationRateSample& b) { return a.t < b.t; });
    return out;
}

std::size_t RecordedRows::bytes() const {
    return spikes.size() * sizeof(SpikeRecord) + voltages.size() * sizeof(VoltageSample) +
           weight_samples.size() * sizeof(WeightSample) + rate_samples.size() * sizeof(RateSample) +
           population_rates.size() * sizeof(PopulationRateSample);
}

std::size_t Recorders::held_bytes() const {
    return spikes_.size() * sizeof(SpikeRecord) + voltage_rows_held() * sizeof(VoltageSample) +
           weight_samples_.size() * sizeof(WeightSample) + rate_samples_.size() * sizeof(RateSample);
}

std::uint64_t Recorders::sample_rows(SampleKind kind, Tick from, Tick to) const {
    std::uint64_t n = 0;
    if (kind == SampleKind::Voltage)
        for (const VoltageProbe& p : voltage_probes_) n += p.neurons.size() * p.grid.count(from, to);
    if (kind == SampleKind::Weight)
        for (const WeightProbe& p : weight_probes_) n += p.synapses.size() * p.grid.count(from, to);
    if (kind == SampleKind::Rate)
        for (const RateProbe& p : rate_probes_) n += p.neurons.size() * p.grid.count(from, to);
    return n;
}

RecordedRows Recorders::drain(Tick now, Tick run_end) {
    RecordedRows rows;
    // Every spike and sample committed lies before `now`, every later one at or after it.
    sort_spikes(spikes_);
    rows.spikes = std::exchange(spikes_, {});
    rows.voltages = voltage_rows();
    for (std::size_t k = 0; k < voltage_probes_.size(); ++k) {
        VoltageValues& held = voltage_values_[k];
        if (const std::size_t n = voltage_probes_[k].neurons.size(); n > 0) held.first += held.v_mV.size() / n;
        held.v_mV.clear();  // keeps the capacity: a streamed run's pieces reuse it
    }
    std::vector<VoltageSample>().swap(voltage_rows_);
    voltage_rows_built_ = false;
    rows.weight_samples = std::exchange(weight_samples_, {});
    rows.rate_samples = std::exchange(rate_samples_, {});
    // A bin is final in the output order once no bin still to come (a whole
    // bin not yet ended, of any probe) starts before or with it.
    std::vector<Tick> whole(population_rate_probes_.size());
    Tick before = kNever;
    for (std::uint32_t k = 0; k < population_rate_probes_.size(); ++k) {
        const PopulationRateProbe& probe = population_rate_probes_[k];
        whole[k] = whole_bins(k, now);
        const Tick next = probe.filter.start + whole[k] * probe.bin;  // start of its next bin
        if (next <= std::min(run_end, probe.filter.stop) - probe.bin) before = std::min(before, next);
    }
    rows.population_rates = bins_before(whole, before);
    std::vector<std::size_t> taken(population_rate_probes_.size(), 0);
    for (const PopulationRateSample& b : rows.population_rates) ++taken[b.probe];
    for (std::uint32_t k = 0; k < population_rate_probes_.size(); ++k) {
        for (Share& sh : shares_) {
            std::vector<std::uint64_t>& count = sh.bin_count[k];
            count.erase(count.begin(), count.begin() + static_cast<std::ptrdiff_t>(std::min(taken[k], count.size())));
        }
        bin_base_[k] += taken[k];
    }
    return rows;
}

PopulationSummary Recorders::summary(const Network& net, std::size_t p, Tick now) const {
    const Population& pop = net.population(p);
    PopulationSummary s;
    s.name = pop.name();
    s.model = pop.model();
    s.neurons = pop.size();
    for (const Share& sh : shares_) s.spikes += sh.spike_count[p];
    const double seconds = time_.to_ms(now) / 1000.0;
    s.mean_rate_hz = (pop.size() > 0 && seconds > 0) ? static_cast<double>(s.spikes) / pop.size() / seconds : 0.0;
    double cv_sum = 0.0;
    for (std::uint32_t i = 0; i < pop.size(); ++i) {
        const IsiStats& st = isi_[net.offset(p) + i];
        if (st.n < 2 || st.mean <= 0.0) continue;
        cv_sum += std::sqrt(st.m2 / st.n) / st.mean;
        ++s.neurons_with_cv;
    }
    if (s.neurons_with_cv > 0) {
        s.has_cv = true;
        s.mean_cv_isi = cv_sum / s.neurons_with_cv;
    }
    return s;
}

}  // namespace spikeem
