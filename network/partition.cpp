#include "network/partition.hpp"

#include <algorithm>
#include <bit>
#include <cassert>

namespace spikeem {

PartitionLayout::PartitionLayout(const Network& net, std::uint32_t partitions) : count(partitions) {
    // Contiguous chunks of every population; a delay group's targets are sorted,
    // so each partition's part of a group is contiguous too.
    bounds.resize(net.num_populations());
    for (std::size_t p = 0; p < net.num_populations(); ++p)
        for (std::uint32_t q = 0; q <= count; ++q)
            bounds[p].push_back(static_cast<std::uint32_t>(std::uint64_t{net.population(p).size()} * q / count));
    if (count == 1) return;
    split.resize(net.num_projections());
    for (std::size_t j = 0; j < net.num_projections(); ++j) {
        const Projection& pj = net.projection(j);
        const std::vector<std::uint32_t>& b = bounds[pj.target_population()];
        const std::uint32_t groups = pj.group_begin(net.population(pj.source_population()).size());
        split[j].reserve(std::size_t{groups} * (count + 1));
        for (std::uint32_t g = 0; g < groups; ++g) {
            const std::uint32_t* first = pj.targets() + pj.group(g).begin;
            const std::uint32_t* last = first + pj.group_size(g);
            assert(std::is_sorted(first, last));
            for (std::uint32_t q = 0; q <= count; ++q)
                split[j].push_back(static_cast<std::uint32_t>(std::lower_bound(first, last, b[q]) - pj.targets()));
        }
    }
}

std::uint32_t PartitionLayout::owner(std::uint32_t population, std::uint32_t local) const {
    if (count == 1) return 0;
    const std::vector<std::uint32_t>& b = bounds[population];
    return static_cast<std::uint32_t>(std::upper_bound(b.begin(), b.end(), local) - b.begin() - 1);
}

// The own-event calendar: buckets of ~0.1 ms (rounded up to 2^k ticks), a
// ring of 1024 (~0.13 s; later events wait in its heap).  Any width gives the
// same results, only the cost changes; examples/benchmarks/README.md says how
// this one was chosen.
static Tick own_bucket_ticks(const TimeBase& time) { return std::max<Tick>(time.round(0.1), 1); }
constexpr std::size_t kOwnBuckets = 1024;

// The drive calendar: buckets of about kDrivePerBucket expected events, a
// ring of kDriveBuckets.  Any width gives the same results, only the cost
// changes (examples/benchmarks/README.md).
constexpr double kDrivePerBucket = 8.0;
constexpr std::size_t kDriveBuckets = 4096;
static Tick drive_bucket_ticks(const TimeBase& time, double drive_per_ms) {
    if (!(drive_per_ms > 0.0)) return own_bucket_ticks(time);
    const double ticks = kDrivePerBucket / drive_per_ms * static_cast<double>(time.ticks_per_ms());
    return ticks >= 1e15 ? Tick{1} << 50 : std::max<Tick>(static_cast<Tick>(ticks), 1);
}

// Poisson inputs are drawn in windows of about kInputsPerNeuron expected
// arrivals per target neuron: drawing a window passes over every target
// neuron once, so narrower windows cost more passes and wider ones a batch
// that leaves the caches.  Any width gives the same results
// (examples/benchmarks/README.md says how this one was chosen).
constexpr double kInputsPerNeuron = 4.0;

Partition::Partition(Network& net, const PartitionLayout& layout, Recorders& recorders, std::uint32_t index,
                     const TimeBase& time, double drive_per_ms)
    : net_(net),
      layout_(layout),
      recorders_(recorders),
      index_(index),
      count_(layout.count),
      drive_(drive_bucket_ticks(time, drive_per_ms), kDriveBuckets),
      own_(net.num_neurons(), own_bucket_ticks(time), kOwnBuckets) {
    for (auto& o : out_) o.resize(count_);
    std::vector<Tick> lane_delays;  // the delay of each lane
    for (std::size_t j = 0; j < net.num_projections(); ++j) {
        const Projection& pj = net.projection(j);
        from_source_.push_back(!net.population(pj.source_population()).is_neuron());
        const std::size_t bytes = pj.num_synapses() * sizeof(std::uint32_t) + pj.weight_bytes();
        prefetch_rows_.push_back(bytes >= kPrefetchRowBytes);
        const std::uint32_t groups = pj.group_begin(net.population(pj.source_population()).size());
        Tick delay = groups > 0 ? pj.group(0).delay : kNever;
        for (std::uint32_t g = 1; g < groups && delay != kNever; ++g)
            if (pj.group(g).delay != delay) delay = kNever;
        single_delay_.push_back(delay);
        if (from_source_.back() || delay == kNever || delay <= 0) {
            lane_.push_back(kNoLane);
            continue;
        }
        auto at = std::find(lane_delays.begin(), lane_delays.end(), delay);
        if (at == lane_delays.end()) at = lane_delays.insert(lane_delays.end(), delay);
        lane_.push_back(static_cast<std::uint32_t>(at - lane_delays.begin()));
    }
    lanes_ = DelayLanes(lane_delays.size());
    // A neuron population whose outgoing projections are all static, each of one
    // delay and all of the same one: its spike's blocks would be queued side by
    // side (same time, kind and source; projections in ascending order), so one
    // event stands for all of them (emit_spike, deliver_merged).
    merged_.assign(net.num_projections(), 0);
    for (std::size_t p = 0; p < net.num_populations(); ++p) {
        const std::vector<std::uint32_t>& out = net.outgoing(p);
        if (out.size() < 2) continue;
        bool same = true;
        for (std::uint32_t j : out)
            same = same && lane_[j] != kNoLane && single_delay_[j] == single_delay_[out[0]] &&
                   net.projection(j).rule() == nullptr;
        if (same)
            for (std::uint32_t j : out) merged_[j] = 1;
    }
    build_merged_tables();
    double targets = 0.0, per_ms = 0.0;
    for (std::uint32_t k = 0; k < net.num_poisson_inputs(); ++k) {
        const PoissonInput& in = net.poisson_input(k);
        const std::uint32_t* b = &layout.bounds[in.target()][index];
        const std::uint32_t n = in.targets_in(b[0], b[1]);
        if (n == 0 || in.rate_per_ms() == 0.0) continue;
        input_ids_.push_back(k);
        targets += n;
        per_ms += n * in.rate_per_ms();
    }
    if (input_ids_.empty()) {
        inputs_.finish_inputs();
        return;
    }
    const double ticks = kInputsPerNeuron * targets / per_ms * static_cast<double>(time.ticks_per_ms());
    input_window_ = ticks >= 1e12 ? Tick{1} << 40 : std::max<Tick>(static_cast<Tick>(ticks), 1);
}

void Partition::build_merged_tables() {
    dest_words_ = (count_ + 63) / 64;
    merged_parts_.assign(net_.num_populations(), {});
    merged_dest_.assign(net_.num_populations(), {});
    for (std::size_t p = 0; p < net_.num_populations(); ++p) {
        const std::vector<std::uint32_t>& out = net_.outgoing(p);
        if (out.empty() || !merged_[out[0]]) continue;
        const std::uint32_t size = net_.population(p).size();
        BigVector<Part>& parts = merged_parts_[p];
        std::vector<std::uint64_t>& dest = merged_dest_[p];
        parts.assign(std::size_t{size} * out.size(), Part{0, 0});
        dest.assign(std::size_t{size} * dest_words_, 0);
        bool prefetch = false;
        for (std::size_t k = 0; k < out.size(); ++k) {
            const Projection& pj = net_.projection(out[k]);
            prefetch = prefetch || prefetch_rows_[out[k]];
            for (std::uint32_t i = 0; i < size; ++i) {
                const std::uint32_t g = pj.group_begin(i);
                if (g == pj.group_end(i)) continue;
                assert(pj.group_end(i) == g + 1);  // one delay: at most one group per neuron
                assert(pj.group_size(g) < kCounts);
                const std::uint32_t* s = count_ > 1 ? &layout_.split[out[k]][std::size_t{g} * (count_ + 1)] : nullptr;
                bool counted = false;  // by a lower partition
                for (std::uint32_t q = 0; q < count_; ++q) {
                    const std::uint32_t begin = s ? s[q] : pj.group(g).begin;
                    const std::uint32_t n = s ? s[q + 1] - s[q] : pj.group_size(g);
                    if (n == 0) continue;
                    dest[std::size_t{i} * dest_words_ + q / 64] |= std::uint64_t{1} << (q % 64);
                    if (q == index_) parts[std::size_t{i} * out.size() + k] = Part{begin, n | (counted ? 0 : kCounts)};
                    counted = true;
                }
            }
        }
        // A merged event carries the population's first projection: it prefetches
        // the spike's rows when any of them is worth it.
        for (std::uint32_t j : out) prefetch_rows_[j] = prefetch;
    }
    parts_source_.assign(net_.num_projections(), kNoParts);
    for (std::size_t j = 0; j < net_.num_projections(); ++j)
        if (merged_[j] && prefetch_rows_[j]) parts_source_[j] = net_.projection(j).source_population();
    parts_ahead_ = std::any_of(parts_source_.begin(), parts_source_.end(), [](std::uint32_t p) { return p != kNoParts; });
}

void Partition::fill_inputs() {
    const Tick from = inputs_.filled_to();
    const Tick to = from + input_window_;
    std::vector<InputArrival>& batch = inputs_.start_fill();
    bool more = false;
    for (std::uint32_t k : input_ids_) {
        PoissonInput& in = net_.poisson_input(k);
        const std::uint32_t* b = &layout_.bounds[in.target()][index_];
        more = in.fill(from, to, b[0], b[1], batch) || more;
    }
    inputs_.finish_fill(to);
    if (!more) inputs_.finish_inputs();
}

void Partition::epoch(Tick stop, unsigned parity, const std::vector<std::unique_ptr<Partition>>& all) {
    parity_ = parity;
    for (const auto& from : all) {
        std::vector<Event>& in = from->out_[parity ^ 1u][index_];
        for (const Event& e : in) {
            // Another partition's deliveries, in its order: merged into the lanes below.
            if (const std::uint32_t lane = lane_of(e); lane != kNoLane)
                lanes_.stage(lane, e);
            else
                schedule(e);
        }
        in.clear();  // keeps the capacity: no allocation per epoch once warm
        lanes_.merge_staged();  // one sender at a time: its deliveries come in time order
    }
    run(stop);
}

void Partition::prefetch(const Event& e) const {
    if (e.kind == EventKind::Input) {  // (from the input batch)
        const PoissonInput& in = net_.poisson_input(e.aux);
        in.prefetch(e, net_.population(in.target()));
    } else if (e.kind == EventKind::SourceFire) {  // (a delivery's targets are further away)
        const std::uint32_t p = net_.population_of(e.src), local = e.src - net_.offset(p);
        net_.population(p).prefetch(local);
        // What emit_spike reads: the source's interval statistics and its delay groups.
        recorders_.prefetch_spike(e.src);
        // Its deliveries go to the calendar at e.t + delay: with one delay per projection, that bucket's header too.
        for (std::uint32_t j : net_.outgoing(p)) {
            const Projection& pj = net_.projection(j);
            __builtin_prefetch(&pj.group(pj.group_begin(local)));
            if (single_delay_[j] != kNever) drive_.prefetch_slot(e.t + single_delay_[j]);
        }
    }
}

// The first lines of a row (the hardware prefetcher follows a longer one).
// Always inlined: GCC finds a function of prefetches alone free of effects
// and drops the calls to it.
[[gnu::always_inline]] static inline void prefetch_row(const Projection& pj, std::uint32_t begin, std::uint32_t n) {
    const std::uint32_t m = std::min<std::uint32_t>(n, 128);
    const std::uint32_t* t = pj.targets() + begin;
    for (std::uint32_t k = 0; k < m; k += 16) __builtin_prefetch(t + k);
    if (!pj.shared_weight()) {
        const double* w = pj.block_weights(begin);
        for (std::uint32_t k = 0; k < m; k += 8) __builtin_prefetch(w + k);
    }
}

void Partition::prefetch_queued(const Event& e) const {
    if (e.kind != EventKind::Deliver || !prefetch_rows_[e.aux]) return;
    if (merged_[e.aux]) {  // every part of the spike
        const std::uint32_t p = net_.projection(e.aux).source_population();
        const std::vector<std::uint32_t>& out = net_.outgoing(p);
        const Part* part = parts_of(p, e.src - net_.offset(p));
        for (std::size_t k = 0; k < out.size(); ++k)
            prefetch_row(net_.projection(out[k]), part[k].begin, part[k].n & ~kCounts);
        return;
    }
    const Projection& pj = net_.projection(e.aux);
    if (count_ == 1) {
        prefetch_row(pj, pj.group(e.aux2).begin, pj.group_size(e.aux2));
    } else {  // this partition's part of the group
        const std::uint32_t* s = split(e.aux, e.aux2);
        prefetch_row(pj, s[0], s[1] - s[0]);
    }
}

void Partition::handle(const Event& e) {
    switch (e.kind) {
        case EventKind::Deliver:
            deliver(e);
            break;
        case EventKind::ProbeBefore:
        case EventKind::ProbeAfter:
            rule_event(e);
            break;
        case EventKind::PostArrive: {
            Projection& pj = net_.projection(e.aux);
            pj.post_arrival(index_, e.t, e.src - net_.offset(pj.target_population()));
            break;
        }
        case EventKind::SourceFire:
        case EventKind::Crossing: {
            const std::uint32_t p = net_.population_of(e.src);
            net_.population(p).on_event(*this, e, e.src - net_.offset(p));
            break;
        }
        case EventKind::Input: {
            PoissonInput& in = net_.poisson_input(e.aux);
            in.fire(*this, e, net_.population(in.target()));
            ++synaptic_;
            break;
        }
        case EventKind::Current: {
            CurrentInput& in = net_.current_input(e.aux);
            in.change(*this, e, net_.population(in.target()));
            break;
        }
        case EventKind::Sweep:
            sweep(e);
            break;
        case EventKind::Sample:
            if (index_ != 0) ++uncounted_;  // partition 0 runs every sample event
            queue_.push(recorders_.sample(index_, e, net_));
            break;
    }
}

// A spike reaches one delay group: the rule sees the membrane before the PSP,
// the PSP goes out with the weights as they are, then the rule learns.
void Partition::deliver(const Event& e) {
    if (merged_[e.aux]) return deliver_merged(e);
    Projection& pj = net_.projection(e.aux);
    std::uint32_t begin = pj.group(e.aux2).begin, n = pj.group_size(e.aux2);
    if (count_ > 1) block(e.aux, e.aux2, begin, n);
    synaptic_ += n;
    Population& post = net_.population(pj.target_population());
    SynapseRule* rule = pj.rule(index_);
    if (rule == nullptr) return transmit(pj, post, e.t, begin, n);
    const Arrival a = pj.arrival(e.t, e.aux2, begin, n, post);
    rule->before_transmit(a);
    post.deliver(*this, e.t, pj.targets() + begin, pj.block_weights(begin), n);
    if (rule->after_transmit(a))
        queue_.push(Event{e.t + rule->probe_delay(), e.src, e.aux, e.aux2, EventKind::ProbeAfter});
}

void Partition::transmit(const Projection& pj, Population& post, Tick t, std::uint32_t begin, std::uint32_t n) {
    if (pj.shared_weight()) post.deliver_one_weight(*this, t, pj.targets() + begin, pj.block_weights(begin), n);
    else post.deliver(*this, t, pj.targets() + begin, pj.block_weights(begin), n);
}

void Partition::deliver_merged(const Event& e) {
    // Every block of the spike, in the order their own events would have come
    // (ascending projections).  Counted as they would have been: each non-empty
    // block once, by the lowest partition with a part of it.
    const std::uint32_t p = net_.projection(e.aux).source_population();
    const std::vector<std::uint32_t>& out = net_.outgoing(p);
    const Part* part = parts_of(p, e.src - net_.offset(p));
    std::uint64_t counted = 0;
    for (std::size_t k = 0; k < out.size(); ++k) {
        const std::uint32_t n = part[k].n & ~kCounts;
        if (n == 0) continue;
        counted += part[k].n >> 31;
        synaptic_ += n;
        const Projection& pj = net_.projection(out[k]);
        transmit(pj, net_.population(pj.target_population()), e.t, part[k].begin, n);
    }
    processed_ += counted;
    ++uncounted_;  // (the run loop counted the event itself)
}

// The membrane reads a rule asked for, before an arrival and after it.
void Partition::rule_event(const Event& e) {
    Projection& pj = net_.projection(e.aux);
    Population& post = net_.population(pj.target_population());
    SynapseRule& rule = *pj.rule(index_);
    std::uint32_t begin = pj.group(e.aux2).begin, n = pj.group_size(e.aux2);
    if (e.kind == EventKind::ProbeBefore) {
        if (count_ > 1) block(e.aux, e.aux2, begin, n);
        rule.read_before(pj.arrival(e.t, e.aux2, begin, n, post));
        return;
    }
    if (count_ > 1) block(e.aux, e.aux2, begin, n);  // for the count only: the rule knows its block
    rule.on_probe(e.t, pj.mutable_weights(), pj.targets(), post);
}

void Partition::sweep(const Event& e) {
    if (index_ != 0) ++uncounted_;  // partition 0 runs every sweep event
    Population& pop = net_.population(e.aux);
    pop.sweep(*this, e.t, layout_.bounds[e.aux][index_], layout_.bounds[e.aux][index_ + 1]);
    queue_.push(Event{e.t + pop.sweep_period(), e.src, e.aux, 0, EventKind::Sweep});
}

void Partition::emit_merged(std::uint32_t population, std::uint32_t neuron, std::uint32_t global, Tick t) {
    // One event, keyed by the population's first projection, to every partition
    // that owns targets of any block (in ascending order).  The key's projection
    // and group never order it: no other delivery has its time, kind and source.
    const std::uint32_t head = net_.outgoing(population)[0];
    const Event deliver{t + single_delay_[head], global, head, 0, EventKind::Deliver};
    const std::uint64_t* dest = &merged_dest_[population][std::size_t{neuron} * dest_words_];
    for (std::uint32_t w = 0; w < dest_words_; ++w)
        for (std::uint64_t bits = dest[w]; bits != 0; bits &= bits - 1)
            send(w * 64 + static_cast<std::uint32_t>(std::countr_zero(bits)), deliver);
}

void Partition::emit_spike(std::uint32_t population, std::uint32_t neuron, Tick t) {
    const std::uint32_t global = net_.offset(population) + neuron;
    // A spike at an input comes unannounced: its interval statistics and its
    // delay groups (a merged spike: its destinations) are mostly cache misses,
    // here started together instead of one after the other.
    recorders_.prefetch_spike(global);
    const std::vector<std::uint32_t>& out = net_.outgoing(population);
    const bool merged = !out.empty() && merged_[out[0]];
    if (merged) {
        __builtin_prefetch(&merged_dest_[population][std::size_t{neuron} * dest_words_]);
    } else {
        for (std::uint32_t j : out) {
            const Projection& pj = net_.projection(j);
            __builtin_prefetch(&pj.group(pj.group_begin(neuron)));
        }
    }
    recorders_.on_spike(index_, population, neuron, global, t);
    if (merged) {
        emit_merged(population, neuron, global, t);
    } else {
        for (std::uint32_t j : out) {
            const Projection& pj = net_.projection(j);
            const SynapseRule* rule = pj.rule();
            const bool before = rule && rule->reads_before_arrival();
            for (std::uint32_t g = pj.group_begin(neuron); g < pj.group_end(neuron); ++g) {
                const Event deliver{t + pj.group(g).delay, global, j, g, EventKind::Deliver};
                // Validation guarantees delays >= the rule's lead, so this is not in the past.
                const Event read{deliver.t - (before ? rule->lead() : 0), global, j, g, EventKind::ProbeBefore};
                if (count_ == 1) {
                    schedule(deliver);
                    if (before) queue_.push(read);
                    continue;
                }
                // To every partition owning targets of the group (the lookahead makes them due after this epoch).
                const std::uint32_t* s = &layout_.split[j][std::size_t{g} * (count_ + 1)];
                for (std::uint32_t q = 0; q < count_; ++q) {
                    if (s[q] == s[q + 1]) continue;
                    send(q, deliver);
                    if (before) send(q, read);
                }
            }
        }
    }
    for (std::uint32_t j : net_.post_spike_rules(population))
        queue_.push(Event{net_.projection(j).post_arrival_time(t), global, j, 0, EventKind::PostArrive});
}

void Partition::save_state(StateWriter& w) const {
    w.section("partition " + std::to_string(index_));
    std::vector<Event> queued = drive_.events();
    queued.insert(queued.end(), queue_.begin(), queue_.end());
    const std::vector<Event> laned = lanes_.events();
    queued.insert(queued.end(), laned.begin(), laned.end());
    const std::vector<Event> inputs = inputs_.pending();
    queued.insert(queued.end(), inputs.begin(), inputs.end());
    std::sort(queued.begin(), queued.end(), [](const Event& a, const Event& b) { return EventLater()(b, a); });
    w.values(queued);
    w.value(inputs_.filled_to());
    w.values(own_.times());
    w.value(parity_);
    for (const auto& parity : out_) w.nested(parity);
    w.value(processed_);
    w.value(uncounted_);
    w.value(synaptic_);
}

void Partition::load_state(StateReader& r) {
    r.section("partition " + std::to_string(index_));
    std::vector<Event> queued;
    r.values(queued);
    Tick filled_to = 0;
    r.value(filled_to);
    queue_.clear();
    lanes_.clear();
    drive_.clear();
    std::vector<Event> inputs;  // (in key order, as saved)
    for (const Event& e : queued) {
        if (e.kind == EventKind::Input) inputs.push_back(e);
        else schedule(e);
    }
    inputs_.restore(inputs, filled_to);
    std::vector<Tick> own(own_.times().size());
    r.same_size(own, "own events");
    for (std::uint32_t i = 0; i < own.size(); ++i) own_.set(i, own[i]);
    r.value(parity_);
    for (auto& parity : out_) {
        const std::size_t count = parity.size();
        r.nested(parity);
        if (parity.size() != count) throw StateMismatch("partition: the partition count differs");
    }
    r.value(processed_);
    r.value(uncounted_);
    r.value(synaptic_);
}

}  // namespace spikeem
