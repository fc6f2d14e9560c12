#pragma once
// The event queue: a Boost.Heap d-ary heap ordered by an exact, total key.
//
// Order of events (earliest first):
//   1. time tick t;
//   2. kind, in the order of EventKind below (sources fire, then inputs are
//      delivered, then self-driven threshold crossings are checked, then
//      postsynaptic spikes reach plastic synapses, then voltage rules read
//      the voltage, then recorders sample the state left by everything else
//      at that tick);
//   3. src  (global neuron index, or recorder index for samples);
//   4. aux  (projection index for deliveries);
//   5. aux2 (delay-group index for deliveries).
// Two events with equal keys are identical in content, so the order in which
// the heap returns them cannot change a result: the outcome never depends on
// heap internals, insertion order or thread count.
#include <boost/heap/d_ary_heap.hpp>

#include <cstdint>
#include <vector>

#include "sim/time.hpp"

namespace spikeem {

enum class EventKind : std::uint8_t {
    SourceFire = 0,  // a spike source (Poisson, spike list) emits its next spike
    Deliver = 1,     // a spike reaches the synapses of one (source, projection, delay) group
    Crossing = 2,    // predicted threshold crossing of a neuron (lazily invalidated)
    PostArrive = 3,  // a postsynaptic spike reaches the synapses of one plastic projection
    ProbeBefore = 4, // voltage rule: read V at t_arrival - T (central difference)
    ProbeAfter = 5,  // voltage rule: read V at t_arrival + T and update
    Sample = 6,      // a recorder samples state (aux: 0 voltage probe, 1 weight probe, 2 rate probe)
};

struct Event {
    Tick t;
    std::uint32_t src;
    std::uint32_t aux;
    std::uint32_t aux2;
    EventKind kind;
};

// Strict weak order on the key; "a after b" so that Boost's max-heap pops the
// earliest event first.
struct EventLater {
    bool operator()(const Event& a, const Event& b) const {
        if (a.t != b.t) return a.t > b.t;
        if (a.kind != b.kind) return a.kind > b.kind;
        if (a.src != b.src) return a.src > b.src;
        if (a.aux != b.aux) return a.aux > b.aux;
        return a.aux2 > b.aux2;
    }
};

using EventQueue = boost::heap::d_ary_heap<Event, boost::heap::arity<4>, boost::heap::compare<EventLater>>;

// Each neuron's own next event (a predicted threshold crossing, a spike
// candidate): at most one per neuron, kept in a mutable heap whose entries
// are moved in place instead of being left behind stale in the main queue.
// Its events are Crossing events with the same key, so the order of
// everything processed is the same as with one queue.
struct OwnEvent {
    Tick t;
    std::uint32_t neuron;  // global index
};
struct OwnLater {
    bool operator()(const OwnEvent& a, const OwnEvent& b) const {
        return a.t != b.t ? a.t > b.t : a.neuron > b.neuron;
    }
};

// An indexed 4-ary heap: the entries in one array, each neuron's position in
// another.  (Boost's mutable d_ary_heap keeps the values in a std::list and
// the heap of list iterators, so every compare chases a pointer to a node
// allocated somewhere: at 400k neurons that was 45 % of the run, one cache
// miss per compare.)  The key (t, neuron) is unique, so the order of pops is
// the same with any correct heap: results do not change.
class OwnEvents {
public:
    explicit OwnEvents(std::size_t neurons) : pos_(neurons, kAbsent) {}
    // Set (or move) the one own event of a neuron.
    void set(std::uint32_t neuron, Tick t) {
        std::uint32_t i = pos_[neuron];
        if (i == kAbsent) {
            i = static_cast<std::uint32_t>(heap_.size());
            heap_.push_back(OwnEvent{t, neuron});
            sift_up(i);
        } else if (t < heap_[i].t) {
            heap_[i].t = t;
            sift_up(i);
        } else {
            heap_[i].t = t;
            sift_down(i);
        }
    }
    bool empty() const { return heap_.empty(); }
    Event top() const { return Event{heap_[0].t, heap_[0].neuron, 0, 0, EventKind::Crossing}; }
    void pop() {
        pos_[heap_[0].neuron] = kAbsent;
        const OwnEvent last = heap_.back();
        heap_.pop_back();
        if (heap_.empty()) return;
        heap_[0] = last;
        sift_down(0);
    }

private:
    static constexpr std::uint32_t kAbsent = 0xffffffffu;
    static constexpr std::size_t kArity = 4;

    void place(std::size_t i, const OwnEvent& e) {
        heap_[i] = e;
        pos_[e.neuron] = static_cast<std::uint32_t>(i);
    }
    void sift_up(std::size_t i) {
        const OwnEvent e = heap_[i];
        while (i > 0) {
            const std::size_t parent = (i - 1) / kArity;
            if (!later_(heap_[parent], e)) break;
            place(i, heap_[parent]);
            i = parent;
        }
        place(i, e);
    }
    void sift_down(std::size_t i) {
        const OwnEvent e = heap_[i];
        const std::size_t n = heap_.size();
        while (true) {
            const std::size_t first = kArity * i + 1;
            if (first >= n) break;
            std::size_t best = first;
            const std::size_t end = first + kArity < n ? first + kArity : n;
            for (std::size_t c = first + 1; c < end; ++c)
                if (later_(heap_[best], heap_[c])) best = c;
            if (!later_(e, heap_[best])) break;
            place(i, heap_[best]);
            i = best;
        }
        place(i, e);
    }

    OwnLater later_;
    std::vector<OwnEvent> heap_;
    std::vector<std::uint32_t> pos_;  // per neuron: index in heap_, kAbsent if none
};

// The run loop: take the earliest event of the two queues, let the handler
// apply it and schedule what follows.  Processes every event with t < end;
// later events stay queued so that a run can be continued.  Returns the
// number of events processed.
template <class Handler>
std::uint64_t run_until(EventQueue& queue, OwnEvents& own, Handler& handler, Tick end) {
    const EventLater later;
    std::uint64_t processed = 0;
    while (true) {
        const bool use_own = !own.empty() && (queue.empty() || later(queue.top(), own.top()));
        if (!use_own && queue.empty()) break;
        const Event e = use_own ? own.top() : queue.top();
        if (e.t >= end) break;
        if (use_own) own.pop();
        else queue.pop();
        handler.handle(e);
        ++processed;
    }
    return processed;
}

}  // namespace spikeem
