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

// The run loop: pop the earliest event, let the handler apply it and schedule
// what follows.  Processes every event with t < end; later events stay queued
// so that a run can be continued.  Returns the number of events processed.
template <class Handler>
std::uint64_t run_until(EventQueue& queue, Handler& handler, Tick end) {
    std::uint64_t processed = 0;
    while (!queue.empty() && queue.top().t < end) {
        Event e = queue.top();
        queue.pop();
        handler.handle(e);
        ++processed;
    }
    return processed;
}

}  // namespace spikeem
