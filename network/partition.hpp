#pragma once
// One partition of a running network: its own event queues and everything
// that happens at the neurons it owns (see Simulation for the scheme).  It is
// the engine the populations talk to (EngineHooks) while it handles its events.
#include <cstdint>
#include <memory>
#include <vector>

#include "network/network.hpp"
#include "network/population.hpp"
#include "network/recorders.hpp"
#include "sim/event_queue.hpp"
#include "sim/huge_pages.hpp"
#include "sim/time.hpp"

namespace spikeem {

// How the neurons and synapses of a network are split among partitions.
struct PartitionLayout {
    std::uint32_t count = 1;
    // Per population: the first local neuron of each partition, + the size.
    std::vector<std::vector<std::uint32_t>> bounds;
    // Per projection, per delay group g, per partition q: the first synapse of
    // the group whose target q owns, at split[j][g * (count + 1) + q]
    // (q = count: the group's end).  Empty with one partition.
    std::vector<std::vector<std::uint32_t>> split;

    PartitionLayout(const Network& net, std::uint32_t partitions);
    std::uint32_t owner(std::uint32_t population, std::uint32_t local) const;
};

class Partition final : public EngineHooks {
public:
    // `drive_per_ms`: the expected external drive events per ms of this
    // partition (it sizes the drive calendar's buckets; any value gives the
    // same results).
    Partition(Network& net, const PartitionLayout& layout, Recorders& recorders, std::uint32_t index,
              const TimeBase& time, double drive_per_ms);

    // The external drive (source spikes and their deliveries) goes to its
    // calendar, neurons' deliveries through projections of one delay to
    // the lane of that delay, the rest to the heap.  (Poisson inputs are drawn
    // into their batch, fill_inputs(), never scheduled.)
    void schedule(const Event& e) override {
        if (e.kind == EventKind::SourceFire || (e.kind == EventKind::Deliver && from_source_[e.aux]))
            drive_.push(e);
        else if (const std::uint32_t lane = lane_of(e); lane != kNoLane)
            lanes_.push(lane, e);
        else
            queue_.push(e);
    }
    void schedule_own(std::uint32_t global, Tick t) override { own_.set(global, t); }
    void emit_spike(std::uint32_t population, std::uint32_t neuron, Tick t) override;
    void handle(const Event& e);  // for the run loop
    // For the run loop: the next window of Poisson inputs into its batch.
    void fill_inputs();
    // For the run loop: drive or input event e comes soon (a cache hint, no effect).
    void prefetch(const Event& e) const;
    // The next event of the heap, at the pop before it: a delivery starts
    // loading its synapse row (targets, and weights when per synapse).
    void prefetch_queued(const Event& e) const;
    // After a pop from the lanes: a merged delivery kPartsAhead events further
    // on starts loading its parts entry, which prefetch_queued reads when that
    // event is next, so the row prefetch does not wait for it (a cache hint).
    // Always inlined: GCC takes a function of prefetches alone for one without
    // effects and drops the calls to it.
    [[gnu::always_inline]] void prefetch_lanes(const DelayLanes& lanes) const {
        if (!parts_ahead_) return;
        const Event* e = lanes.ahead(kPartsAhead);
        if (e == nullptr) return;
        if (const std::uint32_t p = parts_source_[e->aux]; p != kNoParts)
            __builtin_prefetch(parts_of(p, e->src - net_.offset(p)));
    }

    // Every event before `end` (one partition: the whole run loop).
    void run(Tick end) { processed_ += spikeem::run_until(queue_, lanes_, drive_, inputs_, own_, *this, end); }
    // One epoch of a partitioned run: first take what the other partitions sent
    // in the previous epoch (outboxes of the other parity), then run to `stop`.
    // Contract: stop - (start of the epoch) <= the lookahead, so nothing sent in
    // this epoch is due before `stop`.
    void epoch(Tick stop, unsigned parity, const std::vector<std::unique_ptr<Partition>>& all);

    // Events processed, as the serial run counts them (parts of events split
    // among partitions are counted by one of them), and synapses reached.
    std::uint64_t events_processed() const { return processed_ - uncounted_; }
    std::uint64_t synaptic_events() const { return synaptic_; }
    // Checkpoints: queued events (in key order), own events, what was sent to
    // other partitions and not yet taken, the counters.  Read back into a
    // partition of a simulation built from the same spec and partition count.
    void save_state(StateWriter& w) const;
    void load_state(StateReader& r);

private:
    void deliver(const Event& e);
    void deliver_merged(const Event& e);
    // A block of a static projection [begin, begin + n) to its target population
    // (deliver_one_weight when the projection has one weight).
    void transmit(const Projection& pj, Population& post, Tick t, std::uint32_t begin, std::uint32_t n);
    void emit_merged(std::uint32_t population, std::uint32_t neuron, std::uint32_t global, Tick t);
    void rule_event(const Event& e);
    void sweep(const Event& e);
    void send(std::uint32_t q, const Event& e) {
        if (q == index_) schedule(e);
        else out_[parity_][q].push_back(e);
    }
    // Where this partition's part of delay group g of projection j begins and ends.
    const std::uint32_t* split(std::uint32_t j, std::uint32_t g) const {
        return &layout_.split[j][std::size_t{g} * (count_ + 1) + index_];
    }
    // This partition's part [begin, begin + n) of delay group g of projection j
    // (several partitions); the lowest partition with a part counts the event.
    void block(std::uint32_t j, std::uint32_t g, std::uint32_t& begin, std::uint32_t& n) {
        const std::uint32_t* s = split(j, g);
        if (s[0] != begin) ++uncounted_;
        begin = s[0];
        n = s[1] - s[0];
    }

    Network& net_;
    const PartitionLayout& layout_;
    Recorders& recorders_;
    const std::uint32_t index_, count_;
    EventQueue queue_;
    DelayLanes lanes_;
    DriveCalendar drive_;
    InputBatch inputs_;
    std::vector<std::uint32_t> input_ids_;  // the Poisson inputs with target neurons here
    Tick input_window_ = 1;                 // the width of their windows (ticks)
    std::vector<char> from_source_;  // per projection: its source population is a spike source
    // Per projection: its rows are worth prefetching (prefetch_queued).  Below
    // kPrefetchRowBytes of targets and weights the rows stay in the caches and
    // the look-up of the row would cost more than it saves (cuba_delta: 5 % of
    // its time).
    static constexpr std::size_t kPrefetchRowBytes = std::size_t{2} << 20;
    std::vector<char> prefetch_rows_;
    std::vector<Tick> single_delay_;  // per projection: the delay of all its groups, kNever if they differ
    // Per projection: the lane of its deliveries (neurons' projections of one
    // delay > 0; the deliveries of one delay share a lane), or kNoLane.
    static constexpr std::uint32_t kNoLane = ~std::uint32_t{0};
    std::vector<std::uint32_t> lane_;
    std::uint32_t lane_of(const Event& e) const { return e.kind == EventKind::Deliver ? lane_[e.aux] : kNoLane; }
    // Per projection: its source population's spikes are one event for all their
    // blocks (static projections of one common delay; see the constructor).
    std::vector<char> merged_;
    // For each population whose spikes are merged (empty for the others), per
    // neuron and outgoing projection: this partition's part of the neuron's
    // block, with kCounts set in `n` on the part that counts the block (the
    // lowest partition with a part).  A spike reads one entry here instead of
    // its groups' index, its groups and their split: one cache miss instead of
    // three per projection.
    struct Part {
        std::uint32_t begin, n;
    };
    static constexpr std::uint32_t kCounts = std::uint32_t{1} << 31;
    std::vector<BigVector<Part>> merged_parts_;  // (read at random, a spike at a time: huge pages when large)
    // Per projection (lanes hold deliveries only): its source population when
    // its spikes are merged and their rows prefetched, else kNoParts; and
    // whether any projection has one.  Two and four events ahead ran alike on
    // scale_40k, eight no better (examples/benchmarks/README.md).
    static constexpr std::uint32_t kNoParts = ~std::uint32_t{0};
    static constexpr std::size_t kPartsAhead = 4;
    std::vector<std::uint32_t> parts_source_;
    bool parts_ahead_ = false;
    // For the same populations, per neuron: the partitions its spike goes to,
    // bit q % 64 of word q / 64 of its dest_words_ words (none: no synapses).
    std::vector<std::vector<std::uint64_t>> merged_dest_;
    std::uint32_t dest_words_ = 1;
    void build_merged_tables();
    const Part* parts_of(std::uint32_t population, std::uint32_t local) const {
        return &merged_parts_[population][std::size_t{local} * net_.outgoing(population).size()];
    }
    OwnEvents own_;  // indexed by global neuron (only this partition's are ever set)
    unsigned parity_ = 0;
    std::vector<std::vector<Event>> out_[2];  // per parity, per destination partition
    std::uint64_t processed_ = 0, uncounted_ = 0, synaptic_ = 0;
};

}  // namespace spikeem
