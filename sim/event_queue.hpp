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
// are moved in place (Boost.Heap handles) instead of being left behind stale
// in the main queue.  Its events are Crossing events with the same key, so
// the order of everything processed is the same as with one queue.
struct OwnEvent {
    Tick t;
    std::uint32_t neuron;  // global index
};
struct OwnLater {
    bool operator()(const OwnEvent& a, const OwnEvent& b) const {
        return a.t != b.t ? a.t > b.t : a.neuron > b.neuron;
    }
};
using OwnQueue = boost::heap::d_ary_heap<OwnEvent, boost::heap::arity<4>, boost::heap::mutable_<true>,
                                         boost::heap::compare<OwnLater>>;

class OwnEvents {
public:
    explicit OwnEvents(std::size_t neurons) : handle_(neurons), live_(neurons, 0) {}
    // Set (or move) the one own event of a neuron.
    void set(std::uint32_t neuron, Tick t) {
        if (live_[neuron]) {
            queue_.update(handle_[neuron], OwnEvent{t, neuron});
        } else {
            handle_[neuron] = queue_.push(OwnEvent{t, neuron});
            live_[neuron] = 1;
        }
    }
    bool empty() const { return queue_.empty(); }
    Event top() const { return Event{queue_.top().t, queue_.top().neuron, 0, 0, EventKind::Crossing}; }
    void pop() {
        live_[queue_.top().neuron] = 0;
        queue_.pop();
    }

private:
    OwnQueue queue_;
    std::vector<OwnQueue::handle_type> handle_;
    std::vector<std::uint8_t> live_;
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
