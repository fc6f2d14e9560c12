#include "network/simulation.hpp"

#include "network/models/poisson.hpp"
#include "network/models/stochastic.hpp"

#include <tbb/task_arena.h>
#include <tbb/task_group.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cmath>
#include <exception>
#include <stdexcept>
#include <thread>

namespace spikeem {

namespace {
// A sample with its place in the serial order: samples of one tick come by
// probe, then by position in the probe's list.  Partitions record their share
// with this key; Simulation::collect sorts by it.
template <class Sample>
struct Keyed {
    std::uint32_t probe, pos;
    Sample s;
};
template <class Sample>
void merge_keyed(std::vector<Sample>& out, std::vector<Keyed<Sample>>& all) {
    std::sort(all.begin(), all.end(), [](const Keyed<Sample>& a, const Keyed<Sample>& b) {
        if (a.s.t != b.s.t) return a.s.t < b.s.t;
        if (a.probe != b.probe) return a.probe < b.probe;
        return a.pos < b.pos;
    });
    for (const auto& k : all) out.push_back(k.s);
}
// Room for `more` elements: an output grows over many run_until calls (a
// driver's chunks), so never to an exact fit, which would copy it every call.
template <class T>
void make_room(std::vector<T>& v, std::size_t more) {
    if (v.size() + more > v.capacity()) v.reserve(std::max(v.size() + more, 2 * v.capacity()));
}
}  // namespace

// The own-event calendar: buckets of ~0.1 ms (rounded up to 2^k ticks), a
// ring of 1024 (~0.13 s; later events wait in its heap).  Any width gives the
// same results, only the cost changes: measured on cuba_delta, scale_40k and
// scale_400k against widths of 0.025-0.4 ms and widths shrinking with the
// network (640 ms / neurons, a ring of neurons / 2 buckets), this was the
// fastest or level at every size; at 400k neurons the small headers and hot
// bucket tails of a short ring matter most (41.5 -> 35 ns per event).
static Tick own_bucket_ticks(const TimeBase& time) { return std::max<Tick>(time.round(0.1), 1); }
constexpr std::size_t kOwnBuckets = 1024;

// One partition of the network: its own queues and everything that happens
// at its neurons (see the comment on Simulation).  The engine the populations
// talk to while handling this partition's events.
class Partition final : public EngineHooks {
public:
    Partition(Simulation& sim, std::uint32_t index, std::uint32_t count, std::size_t neurons)
        : sim_(sim), index_(index), count_(count), own_(neurons, own_bucket_ticks(sim.time_), kOwnBuckets) {
        for (auto& o : out_) o.resize(count);
    }

    void schedule(const Event& e) override { queue_.push(e); }
    void schedule_own(std::uint32_t global, Tick t) override { own_.set(global, t); }
    void emit_spike(std::uint32_t population, std::uint32_t neuron, Tick t) override;
    void handle(const Event& e);  // for the run loop

    // Every event before `end` (one partition: the whole run loop).
    void run(Tick end) { processed_ += spikeem::run_until(queue_, own_, *this, end); }
    // One epoch of a partitioned run: first take what the other partitions sent
    // in the previous epoch (outboxes of the other parity), then run to `stop`.
    // Contract: stop - (start of the epoch) <= the lookahead, so nothing sent in
    // this epoch is due before `stop`.
    void epoch(Tick stop, unsigned parity) {
        parity_ = parity;
        for (auto& from : sim_.parts_) {
            std::vector<Event>& in = from->out_[parity ^ 1u][index_];
            for (const Event& e : in) queue_.push(e);
            in.clear();  // keeps the capacity: no allocation per epoch once warm
        }
        run(stop);
    }

    Simulation& sim_;
    const std::uint32_t index_, count_;
    EventQueue queue_;
    OwnEvents own_;  // indexed by global neuron (only this partition's are ever set)
    unsigned parity_ = 0;
    std::vector<std::vector<Event>> out_[2];  // per parity, per destination partition
    // Voltage-rule state of this partition's targets, per projection (null: no such rule).
    std::vector<std::unique_ptr<VoltageSlopeSynapses>> rules_;
    // This partition's positions in each probe's list (voltage, weight, rate probes).
    std::vector<std::vector<std::uint32_t>> vpos_, wpos_, rpos_;

    // What was recorded since the last Simulation::collect (samples only with
    // several partitions: one records them straight into the outputs, record()).
    std::vector<SpikeRecord> spikes_;
    std::vector<Keyed<VoltageSample>> voltages_;
    std::vector<Keyed<WeightSample>> weight_samples_;
    std::vector<Keyed<RateSample>> rate_samples_;
    std::vector<std::uint64_t> spike_count_;  // per population
    // Events this partition processed; of those, the parts of events split
    // among partitions that another partition counts (so the sum over
    // partitions is the serial count); synapses reached.
    std::uint64_t processed_ = 0, uncounted_ = 0, synaptic_ = 0;

private:
    // A sample: with one partition straight into the simulation's output (the
    // run loop takes samples in the serial order), else keyed for collect's merge.
    template <class Sample>
    void record(std::vector<Keyed<Sample>>& mine, std::vector<Sample>& out, std::uint32_t probe, std::uint32_t pos,
                const Sample& s) {
        if (count_ == 1) out.push_back(s);
        else mine.push_back({probe, pos, s});
    }
    void send(std::uint32_t q, const Event& e) {
        if (q == index_) queue_.push(e);
        else out_[parity_][q].push_back(e);
    }
    // This partition's part [begin, begin + n) of delay group g of projection j
    // (several partitions); the lowest partition with a part counts the event.
    void block(std::uint32_t j, std::uint32_t g, std::uint32_t& begin, std::uint32_t& n) {
        const std::uint32_t* s = &sim_.split_[j][std::size_t{g} * (count_ + 1) + index_];
        if (s[0] != begin) ++uncounted_;
        begin = s[0];
        n = s[1] - s[0];
    }
};

// Hooks for populations' start(): each call goes to the partition owning the neuron.
class StartRouter final : public EngineHooks {
public:
    explicit StartRouter(Simulation& sim) : sim_(sim) {}
    void schedule(const Event& e) override { of(e.src).schedule(e); }
    void schedule_own(std::uint32_t global, Tick t) override { of(global).schedule_own(global, t); }
    void emit_spike(std::uint32_t population, std::uint32_t neuron, Tick t) override {
        sim_.parts_[sim_.owner(population, neuron)]->emit_spike(population, neuron, t);
    }

private:
    Partition& of(std::uint32_t global) {
        const std::uint32_t p = sim_.population_of(global);
        return *sim_.parts_[sim_.owner(p, global - sim_.offsets_[p])];
    }
    Simulation& sim_;
};

Simulation::Simulation(NetworkSpec spec, unsigned threads) : spec_(std::move(spec)), time_(spec_.run.time_digits) {
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

    // Lookahead: the earliest anything a spike causes in another partition is
    // its delivery (axonal + dendritic delay), or for central-difference
    // voltage rules the read of V one window before it.
    for (const Projection& pj : projections_) {
        const std::uint32_t sources = populations_[pj.source_population()]->size();
        const Tick before = pj.voltage_rule() && pj.voltage_rule()->estimate() == SlopeEstimate::Central
                                ? pj.voltage_rule()->window()
                                : 0;
        for (std::uint32_t g = 0; g < pj.group_begin(sources); ++g)
            lookahead_ = std::min(lookahead_, pj.group(g).delay - before);
    }
    std::uint32_t count = std::max(threads, 1u);
    if (lookahead_ < 1) count = 1;  // some effect is due at the very tick of its spike: no epoch fits
    // A tied pair's weight is written by the partitions of both directions' targets: one partition.
    for (const Projection& pj : projections_)
        if (pj.tied()) count = 1;
    // Presynaptic state shared per delay group would be read and written by every partition owning
    // part of the group: give each synapse its own copy instead.
    if (count > 1)
        for (Projection& pj : projections_) pj.plasticity_state_per_synapse();

    // Contiguous chunks of every population; a delay group's targets are sorted,
    // so each partition's part of a group is contiguous too.
    bounds_.resize(populations_.size());
    for (std::size_t p = 0; p < populations_.size(); ++p)
        for (std::uint32_t q = 0; q <= count; ++q)
            bounds_[p].push_back(static_cast<std::uint32_t>(std::uint64_t{populations_[p]->size()} * q / count));
    if (count > 1) {
        split_.resize(projections_.size());
        for (std::size_t j = 0; j < projections_.size(); ++j) {
            const Projection& pj = projections_[j];
            const std::vector<std::uint32_t>& b = bounds_[pj.target_population()];
            const std::uint32_t groups = pj.group_begin(populations_[pj.source_population()]->size());
            split_[j].reserve(std::size_t{groups} * (count + 1));
            for (std::uint32_t g = 0; g < groups; ++g) {
                const std::uint32_t* first = pj.targets() + pj.group(g).begin;
                const std::uint32_t* last = first + pj.group_size(g);
                assert(std::is_sorted(first, last));
                for (std::uint32_t q = 0; q <= count; ++q)
                    split_[j].push_back(static_cast<std::uint32_t>(std::lower_bound(first, last, b[q]) - pj.targets()));
            }
        }
    }
    for (std::uint32_t q = 0; q < count; ++q) {
        auto part = std::make_unique<Partition>(*this, q, count, offset);
        for (const Projection& pj : projections_)
            part->rules_.push_back(pj.voltage_rule() ? std::make_unique<VoltageSlopeSynapses>(*pj.voltage_rule())
                                                     : nullptr);
        part->spike_count_.assign(populations_.size(), 0);
        parts_.push_back(std::move(part));
    }

    // Recorders: every partition samples the neurons (synapses: by target) it
    // owns; partition 0 also runs the samples it has no share of, so that it
    // counts every sample event once.
    auto share = [&](std::vector<std::vector<std::uint32_t>> Partition::*pos, std::uint32_t k, std::uint32_t kind,
                     std::uint32_t population, const std::vector<std::uint32_t>& neurons) {
        for (std::uint32_t q = 0; q < count; ++q) {
            std::vector<std::uint32_t> mine;
            for (std::uint32_t i = 0; i < neurons.size(); ++i)
                if (owner(population, neurons[i]) == q) mine.push_back(i);
            if (q == 0 || !mine.empty()) parts_[q]->queue_.push(Event{0, k, kind, 0, EventKind::Sample});
            ((*parts_[q]).*pos).push_back(std::move(mine));
        }
    };
    // Sweeps: every partition sweeps its chunk of the population; partition 0
    // also when its chunk is empty, and counts every sweep event once.
    for (std::uint32_t p = 0; p < populations_.size(); ++p) {
        if (populations_[p]->sweep_period() == kNever) continue;
        for (std::uint32_t q = 0; q < count; ++q)
            if (q == 0 || bounds_[p][q] < bounds_[p][q + 1])
                parts_[q]->queue_.push(Event{0, offsets_[p] + bounds_[p][q], p, 0, EventKind::Sweep});
    }
    record_spikes_.assign(populations_.size(), false);
    for (const auto& name : spec_.record.spike_populations) record_spikes_[find_pop(name)] = true;
    for (std::size_t k = 0; k < spec_.record.voltages.size(); ++k) {
        const auto& vp = spec_.record.voltages[k];
        Probe probe{find_pop(vp.population), vp.neurons, std::max<Tick>(time_.round(vp.interval_ms), 1)};
        if (probe.neurons.empty())
            for (std::uint32_t i = 0; i < populations_[probe.population]->size(); ++i) probe.neurons.push_back(i);
        share(&Partition::vpos_, static_cast<std::uint32_t>(k), 0, probe.population, probe.neurons);
        probes_.push_back(std::move(probe));
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
        // A synapse's weight belongs to the partition owning its target.
        share(&Partition::wpos_, static_cast<std::uint32_t>(k), 1, projections_[j].target_population(), probe.post);
        weight_probes_.push_back(std::move(probe));
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
        share(&Partition::rpos_, static_cast<std::uint32_t>(k), 2, probe.population, probe.neurons);
        rate_probes_.push_back(std::move(probe));
    }
    slope_logs_.resize(projections_.size());

    isi_.assign(offset, IsiStats{});

    for (const auto& p : populations_) next_rebase_.push_back(p->rebase_period());
    StartRouter router(*this);
    for (auto& p : populations_) p->start(router);
}

Simulation::~Simulation() = default;

std::uint32_t Simulation::population_of(std::uint32_t global) const {
    auto it = std::upper_bound(offsets_.begin(), offsets_.end(), global);
    return static_cast<std::uint32_t>(it - offsets_.begin() - 1);
}

std::uint32_t Simulation::owner(std::uint32_t population, std::uint32_t local) const {
    if (parts_.size() == 1) return 0;
    const std::vector<std::uint32_t>& b = bounds_[population];
    return static_cast<std::uint32_t>(std::upper_bound(b.begin(), b.end(), local) - b.begin() - 1);
}

void Simulation::run_until(Tick end) {
    // Room for the samples every partition will record before `end` (probes
    // sample at the multiples of their interval), so that the buffers do not
    // grow by doubling: on cuba_delta that growth (copies, page faults) was
    // most of what its three voltage traces cost.
    auto instants = [&](Tick interval) {
        const auto upto = [&](Tick t) { return t <= 0 ? Tick{0} : (t + interval - 1) / interval; };
        return static_cast<std::size_t>(std::max<Tick>(upto(end) - upto(now_), 0));
    };
    for (auto& part : parts_) {
        std::size_t v = 0, w = 0, r = 0;
        for (std::size_t k = 0; k < probes_.size(); ++k) v += part->vpos_[k].size() * instants(probes_[k].interval);
        for (std::size_t k = 0; k < weight_probes_.size(); ++k)
            w += part->wpos_[k].size() * instants(weight_probes_[k].interval);
        for (std::size_t k = 0; k < rate_probes_.size(); ++k)
            r += part->rpos_[k].size() * instants(rate_probes_[k].interval);
        if (parts_.size() == 1) {  // recorded straight into the outputs
            make_room(voltages_, v);
            make_room(weight_samples_, w);
            make_room(rate_samples_, r);
        } else {
            make_room(part->voltages_, v);
            make_room(part->weight_samples_, w);
            make_room(part->rate_samples_, r);
        }
    }
    // In segments between the rebase instants of the populations (multiples
    // of their periods, the same for any partitioning): a population is
    // rebased when everything before the instant is done and nothing after it.
    while (now_ < end) {
        Tick due = kNever;
        for (Tick t : next_rebase_) due = std::min(due, t);
        const Tick stop = std::min(end, due);
        if (parts_.size() == 1) parts_[0]->run(stop);
        else run_epochs(stop);
        now_ = stop;
        if (stop == due) rebase_at(stop);
    }
    collect();
}

void Simulation::rebase_at(Tick t) {
    for (std::size_t p = 0; p < populations_.size(); ++p) {
        if (next_rebase_[p] != t) continue;
        populations_[p]->rebase(t);
        const Tick period = populations_[p]->rebase_period();
        next_rebase_[p] = t > kNever - period ? kNever : t + period;
    }
}

namespace {
// A short wait inside a spin loop (the PAUSE instruction where there is one).
inline void relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}
}  // namespace

// Epochs [start, stop) of at most the lookahead: a spike at t in one can only
// affect another partition from t + lookahead >= stop on.  An epoch is a few
// microseconds of work on small networks, far less than waking a sleeping
// thread, so the threads stay in one parallel region for the whole call and
// meet at each epoch's end on an atomic counter instead of forking and joining
// per epoch.  Runner r runs partitions r, r + T, ... (they stay in its cache)
// and, when it has waited a while for the others, runs any partition of the
// epoch nobody has claimed yet: so a runner that TBB starts late, or never,
// only costs time, never a deadlock (a runner waits only for partitions that
// are claimed, hence being run).  Which thread runs a partition changes
// nothing: its epoch's input is complete before it starts (release/acquire on
// the counter) and its work depends on nothing else.
void Simulation::run_epochs(Tick end) {
    const std::size_t parts = parts_.size();
    const Tick start = now_;
    const std::uint64_t epochs = static_cast<std::uint64_t>(
        lookahead_ >= end - start ? 1 : (end - start + lookahead_ - 1) / lookahead_);
    const unsigned parity0 = parity_;
    auto stop_of = [&](std::uint64_t e) {
        return e + 1 >= epochs ? end : start + static_cast<Tick>(e + 1) * lookahead_;
    };
    std::vector<std::atomic<std::uint64_t>> claimed(parts);  // per partition: epochs claimed so far
    for (auto& c : claimed) c.store(0, std::memory_order_relaxed);
    std::atomic<std::uint64_t> done{0};  // partition-epochs finished
    // A partition that throws (out of memory, a broken invariant) stops every
    // runner, which would otherwise wait for it forever; rethrown below.
    std::atomic<bool> failed{false};
    std::exception_ptr failure;
    const std::size_t runners =
        std::min<std::size_t>(parts, static_cast<std::size_t>(std::max(1, tbb::this_task_arena::max_concurrency())));

    auto try_run = [&](std::size_t q, std::uint64_t e) {
        std::uint64_t expected = e;
        if (!claimed[q].compare_exchange_strong(expected, e + 1, std::memory_order_acq_rel)) return;
        try {
            parts_[q]->epoch(stop_of(e), parity0 ^ static_cast<unsigned>(e & 1));
        } catch (...) {
            if (!failed.exchange(true)) failure = std::current_exception();
        }
        done.fetch_add(1, std::memory_order_release);
    };
    auto runner = [&](std::size_t r) {
        // A late runner joins at the epoch under way.
        for (std::uint64_t e = done.load(std::memory_order_acquire) / parts; e < epochs; ++e) {
            for (std::size_t q = r; q < parts; q += runners) try_run(q, e);
            const std::uint64_t target = (e + 1) * parts;
            for (unsigned spins = 1; done.load(std::memory_order_acquire) < target; ++spins) {
                if (failed.load(std::memory_order_relaxed)) return;
                if (spins % 32 == 0)
                    for (std::size_t q = 0; q < parts; ++q) try_run(q, e);  // help a late runner
                if (spins % 1024 == 0) std::this_thread::yield();          // a loaded machine
                relax();
            }
        }
    };
    tbb::task_group group;
    for (std::size_t r = 1; r < runners; ++r) group.run([&runner, r] { runner(r); });
    runner(0);
    group.wait();
    if (failure) std::rethrow_exception(failure);
    parity_ = parity0 ^ static_cast<unsigned>(epochs & 1);
}

void Simulation::collect() {
    if (parts_.size() == 1) {
        Partition& p = *parts_[0];
        if (spikes_.empty()) spikes_.swap(p.spikes_);  // a whole run: no copy
        else spikes_.insert(spikes_.end(), p.spikes_.begin(), p.spikes_.end());
        // Samples went straight into the outputs (Partition::record).
    } else {
        std::vector<Keyed<VoltageSample>> v;
        std::vector<Keyed<WeightSample>> w;
        std::vector<Keyed<RateSample>> r;
        for (auto& p : parts_) {
            spikes_.insert(spikes_.end(), p->spikes_.begin(), p->spikes_.end());
            v.insert(v.end(), p->voltages_.begin(), p->voltages_.end());
            w.insert(w.end(), p->weight_samples_.begin(), p->weight_samples_.end());
            r.insert(r.end(), p->rate_samples_.begin(), p->rate_samples_.end());
        }
        // Everything recorded in this call lies before `end`, everything later after it.
        merge_keyed(voltages_, v);
        merge_keyed(weight_samples_, w);
        merge_keyed(rate_samples_, r);
        for (std::size_t j = 0; j < projections_.size(); ++j) {
            if (!parts_[0]->rules_[j]) continue;
            std::vector<SlopeUpdate>& log = slope_logs_[j];
            const std::size_t old = log.size();
            for (auto& p : parts_) {
                log.insert(log.end(), p->rules_[j]->log().begin(), p->rules_[j]->log().end());
                p->rules_[j]->clear_log();
            }
            // Serial order: the updates of one projection are applied at arrival
            // time + a constant, by event key, then synapse: storage order is by
            // (source, delay group, target), so (arrival, synapse) is that order.
            std::stable_sort(log.begin() + static_cast<std::ptrdiff_t>(old), log.end(),
                             [](const SlopeUpdate& a, const SlopeUpdate& b) {
                                 return a.t_arrival != b.t_arrival ? a.t_arrival < b.t_arrival : a.synapse < b.synapse;
                             });
        }
    }
    // Released, not kept: after a long run they are as large as the outputs.
    for (auto& p : parts_) {
        std::vector<SpikeRecord>().swap(p->spikes_);
        std::vector<Keyed<VoltageSample>>().swap(p->voltages_);
        std::vector<Keyed<WeightSample>>().swap(p->weight_samples_);
        std::vector<Keyed<RateSample>>().swap(p->rate_samples_);
    }
}

void Partition::handle(const Event& e) {
    Simulation& S = sim_;
    switch (e.kind) {
        case EventKind::Deliver: {
            Projection& pj = S.projections_[e.aux];
            std::uint32_t begin = pj.group(e.aux2).begin, n = pj.group_size(e.aux2);
            if (count_ > 1) block(e.aux, e.aux2, begin, n);
            synaptic_ += n;
            Population& post = *S.populations_[pj.target_population()];
            VoltageSlopeSynapses* rule = rules_[e.aux].get();
            const bool slope = rule && rule->before_transmit(e.t, begin, n, pj.weights(), pj.targets(), post);
            post.deliver(*this, e.t, pj.targets() + begin, pj.block_weights(begin), n);
            if (pj.plastic()) pj.pre_arrival(e.t, e.aux2, begin, n);  // transmit first, then learn
            if (slope && rule->after_transmit(pj.mutable_weights()))
                queue_.push(Event{e.t + rule->window(), e.src, e.aux, e.aux2, EventKind::ProbeAfter});
            break;
        }
        case EventKind::ProbeBefore: {
            Projection& pj = S.projections_[e.aux];
            std::uint32_t begin = pj.group(e.aux2).begin, n = pj.group_size(e.aux2);
            if (count_ > 1) block(e.aux, e.aux2, begin, n);
            rules_[e.aux]->before_arrival(e.t, begin, n, pj.targets(), *S.populations_[pj.target_population()]);
            break;
        }
        case EventKind::ProbeAfter: {
            Projection& pj = S.projections_[e.aux];
            if (count_ > 1) {
                std::uint32_t begin = pj.group(e.aux2).begin, n = 0;
                block(e.aux, e.aux2, begin, n);  // for the count only: the rule's FIFO knows the block
            }
            rules_[e.aux]->on_probe(e.t, pj.mutable_weights(), pj.targets(), *S.populations_[pj.target_population()]);
            break;
        }
        case EventKind::PostArrive: {
            Projection& pj = S.projections_[e.aux];
            pj.post_arrival(e.t, e.src - S.offsets_[pj.target_population()]);
            break;
        }
        case EventKind::SourceFire:
        case EventKind::Crossing: {
            const std::uint32_t p = S.population_of(e.src);
            S.populations_[p]->on_event(*this, e, e.src - S.offsets_[p]);
            break;
        }
        case EventKind::Sweep: {
            if (index_ != 0) ++uncounted_;  // partition 0 runs every sweep event
            Population& pop = *S.populations_[e.aux];
            pop.sweep(*this, e.t, S.bounds_[e.aux][index_], S.bounds_[e.aux][index_ + 1]);
            queue_.push(Event{e.t + pop.sweep_period(), e.src, e.aux, 0, EventKind::Sweep});
            break;
        }
        case EventKind::Sample: {
            if (index_ != 0) ++uncounted_;  // partition 0 runs every sample event
            if (e.aux == 2) {
                Simulation::RateProbe& probe = S.rate_probes_[e.src];
                for (std::uint32_t pos : rpos_[e.src]) {
                    const std::uint32_t i = probe.neurons[pos];
                    record(rate_samples_, S.rate_samples_, e.src, pos,
                           {e.t, e.src, probe.population, i, probe.readout, S.rate_read(probe, i, e.t)});
                }
                queue_.push(Event{e.t + probe.interval, e.src, 2, 0, EventKind::Sample});
                break;
            }
            if (e.aux == 1) {
                const Simulation::WeightProbe& probe = S.weight_probes_[e.src];
                const Projection& pj = S.projections_[probe.projection];
                for (std::uint32_t pos : wpos_[e.src])
                    record(weight_samples_, S.weight_samples_, e.src, pos,
                           {e.t, probe.projection, probe.pre[pos], probe.post[pos], pj.weight(probe.synapses[pos])});
                queue_.push(Event{e.t + probe.interval, e.src, 1, 0, EventKind::Sample});
                break;
            }
            const Simulation::Probe& probe = S.probes_[e.src];
            Population& pop = *S.populations_[probe.population];
            for (std::uint32_t pos : vpos_[e.src]) {
                const std::uint32_t i = probe.neurons[pos];
                record(voltages_, S.voltages_, e.src, pos, {e.t, probe.population, i, pop.observe_voltage_mV(i, e.t)});
            }
            queue_.push(Event{e.t + probe.interval, e.src, 0, 0, EventKind::Sample});
            break;
        }
    }
}

void Partition::emit_spike(std::uint32_t population, std::uint32_t neuron, Tick t) {
    Simulation& S = sim_;
    const std::uint32_t global = S.offsets_[population] + neuron;
    ++spike_count_[population];
    Simulation::IsiStats& st = S.isi_[global];
    if (st.last >= 0) {
        double isi = static_cast<double>(t - st.last);
        double n = ++st.n;
        double delta = isi - st.mean;
        st.mean += delta / n;
        st.m2 += delta * (isi - st.mean);
    }
    st.last = t;
    if (S.record_spikes_[population]) spikes_.push_back({t, population, neuron});
    for (std::uint32_t k : S.rate_in_[population]) S.rate_spike(S.rate_probes_[k], neuron, t);
    for (std::uint32_t j : S.outgoing_[population]) {
        const Projection& pj = S.projections_[j];
        const VoltageSlopeSynapses* rule = pj.voltage_rule();
        const bool central = rule && rule->estimate() == SlopeEstimate::Central;
        for (std::uint32_t g = pj.group_begin(neuron); g < pj.group_end(neuron); ++g) {
            const Event deliver{t + pj.group(g).delay, global, j, g, EventKind::Deliver};
            // Validation guarantees axonal delay >= T, so this is not in the past.
            const Event before{deliver.t - (central ? rule->window() : 0), global, j, g, EventKind::ProbeBefore};
            if (count_ == 1) {
                queue_.push(deliver);
                if (central) queue_.push(before);
                continue;
            }
            // To every partition owning targets of the group (the lookahead makes them due after this epoch).
            const std::uint32_t* s = &S.split_[j][std::size_t{g} * (count_ + 1)];
            for (std::uint32_t q = 0; q < count_; ++q) {
                if (s[q] == s[q + 1]) continue;
                send(q, deliver);
                if (central) send(q, before);
            }
        }
    }
    for (std::uint32_t j : S.plastic_in_[population])
        queue_.push(Event{S.projections_[j].post_arrival_time(t), global, j, 0, EventKind::PostArrive});
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
                out.push_back({now_, static_cast<std::uint32_t>(j), s, pj.targets()[k], pj.weight(k)});
    return out;
}

void Simulation::set_drive(std::size_t population, std::uint32_t neuron, double drive_mV) {
    auto* p = dynamic_cast<StochasticPopulation*>(populations_[population].get());
    if (p == nullptr) throw std::invalid_argument("set_drive: population \"" + populations_[population]->name() +
                                                  "\" is not stochastic");
    p->set_drive(*parts_[owner(static_cast<std::uint32_t>(population), neuron)], neuron, now_, drive_mV);
}

void Simulation::set_rate(std::size_t population, std::uint32_t neuron, double rate_hz) {
    auto* p = dynamic_cast<PoissonPopulation*>(populations_[population].get());
    if (p == nullptr) throw std::invalid_argument("set_rate: population \"" + populations_[population]->name() +
                                                  "\" is not a Poisson source");
    p->set_rate(*parts_[owner(static_cast<std::uint32_t>(population), neuron)], neuron, now_, rate_hz);
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
    for (const auto& part : parts_) s.spikes += part->spike_count_[p];
    const double seconds = time_.to_ms(now_) / 1000.0;
    s.mean_rate_hz = (pop.size() > 0 && seconds > 0) ? static_cast<double>(s.spikes) / pop.size() / seconds : 0.0;
    double cv_sum = 0.0;
    for (std::uint32_t i = 0; i < pop.size(); ++i) {
        const std::uint32_t g = offsets_[p] + i;
        const IsiStats& st = isi_[g];
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

void Simulation::set_plasticity_gain(std::size_t projection, double gain) {
    for (auto& p : parts_)
        if (auto* r = p->rules_[projection].get()) r->set_gain(gain);
}

void Simulation::enable_slope_log(std::size_t projection) {
    for (auto& p : parts_)
        if (auto* r = p->rules_[projection].get()) r->enable_log(true);
}

const std::vector<SlopeUpdate>& Simulation::slope_log(std::size_t projection) const {
    static const std::vector<SlopeUpdate> none;
    if (parts_.size() > 1) return slope_logs_[projection];
    const auto* r = parts_[0]->rules_[projection].get();
    return r ? r->log() : none;
}

std::uint64_t Simulation::events_processed() const {
    std::uint64_t n = 0;
    for (const auto& p : parts_) n += p->processed_ - p->uncounted_;
    return n;
}

std::uint64_t Simulation::synaptic_events() const {
    std::uint64_t n = 0;
    for (const auto& p : parts_) n += p->synaptic_;
    return n;
}

}  // namespace spikeem
