#pragma once
// The event queue: a Boost.Heap d-ary heap ordered by an exact, total key.
//
// Order of events (earliest first):
//   1. time tick t;
//   2. kind, in the order of EventKind below (sources fire, then inputs are
//      delivered, then injected currents change, then populations sweep their neurons for crossings to come,
//      then self-driven threshold crossings are checked, then
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

#include <algorithm>
#include <bit>
#include <cstdint>
#include <vector>

#include "sim/huge_pages.hpp"
#include "sim/time.hpp"

namespace spikeem {

enum class EventKind : std::uint8_t {
    SourceFire = 0,  // a spike source (Poisson, spike list) emits its next spike
    Deliver = 1,     // a spike reaches the synapses of one (source, projection, delay) group
    Input = 2,       // a Poisson input reaches one neuron (src: the neuron, aux: the input); after
                     // deliveries at the same tick, as another synapse's would be
    Current = 3,     // an injected current changes in one neuron (src: the neuron, aux: the input,
                     // aux2: the input's step); before sweeps, which then see the new rest level
    Sweep = 4,       // a population looks at one partition's neurons (src: the first, aux: population)
    Crossing = 5,    // predicted threshold crossing of a neuron (lazily invalidated)
    PostArrive = 6,  // a postsynaptic spike reaches the synapses of one plastic projection
    ProbeBefore = 7, // voltage rule: read V at t_arrival - T (central difference)
    ProbeAfter = 8,  // voltage rule: read V at t_arrival + T and update
    Sample = 9,      // a recorder samples state (aux: 0 voltage probe, 1 weight probe, 2 rate probe)
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
// candidate): at most one per neuron.  Its events are Crossing events with the
// same key, so the order of everything processed is the same as with one queue.
struct OwnEvent {
    Tick t;
    std::uint32_t neuron;  // global index
};
struct OwnLater {
    bool operator()(const OwnEvent& a, const OwnEvent& b) const {
        return a.t != b.t ? a.t > b.t : a.neuron > b.neuron;
    }
};

// The skeleton of spikeem's calendar queues: buckets of 2^shift ticks; the
// bucket under way and everything before it is `active_`, kept so that pops
// come in exact key order: a small binary heap, or (Sorted) a vector sorted
// latest first, whose pop is a pop_back (for a queue whose entries are never
// moved, where entries seldom land in the bucket under way); a ring of buckets
// covers the near future; later entries wait in a heap (`far_`) until the ring
// reaches them.  The bucket width and ring size set only the cost, never the order.
template <class T, class Later, bool Sorted = false>
class CalendarRing {
protected:
    // `bucket_ticks` and `buckets` are rounded up to powers of two.
    CalendarRing(Tick bucket_ticks, std::size_t buckets) {
        while ((Tick{1} << shift_) < bucket_ticks && shift_ < 62) ++shift_;
        std::size_t b = 1;
        while (b < buckets) b <<= 1;
        ring_.resize(b);
        mask_ = b - 1;
    }
    Tick bucket(Tick t) const { return t >> shift_; }
    // Files e by its time; returns true if it went to far_.
    bool place(const T& e) {
        const Tick b = bucket(e.t);
        if (b <= current_) {
            if constexpr (Sorted) {
                // After every entry that comes later, before the earlier ones.
                active_.insert(std::upper_bound(active_.begin(), active_.end(), e, later_), e);
            } else {
                active_.push_back(e);
                std::push_heap(active_.begin(), active_.end(), later_);
            }
        } else if (b - current_ < static_cast<Tick>(ring_.size())) {
            ring_[static_cast<std::size_t>(b) & mask_].push_back(e);
            ++in_ring_;
        } else {
            far_.push_back(e);
            std::push_heap(far_.begin(), far_.end(), later_);
            return true;
        }
        return false;
    }

    // active_ from scratch, after entries were appended to it.
    void order_active() {
        if constexpr (Sorted) std::sort(active_.begin(), active_.end(), later_);
        else std::make_heap(active_.begin(), active_.end(), later_);
    }

    Later later_;
    int shift_ = 0;
    std::size_t mask_ = 0;
    Tick current_ = 0;  // the bucket under way: entries of buckets <= current_ are in active_
    std::vector<T> active_;                // binary heap (later_), or sorted latest first (Sorted)
    std::vector<std::vector<T>> ring_;     // buckets current_ + 1 ... current_ + size - 1
    std::size_t in_ring_ = 0;              // entries in ring_
    std::vector<T> far_;                   // binary heap: the rest
};

// A calendar queue with lazy deletion.  Own events are moved about as often
// as they are popped (inputs move a neuron's predicted crossing), so a move
// must be cheap: set() writes the
// neuron's new time and appends an entry to the bucket of that time, O(1);
// the entry it replaces stays behind and is dropped when met (an entry is
// live iff its time is still its neuron's time).  Pops come in exact key
// order (t, neuron) (CalendarRing): the key is unique, so the sequence of
// pops is the same as with any correct priority queue.
class OwnEvents : private CalendarRing<OwnEvent, OwnLater> {
public:
    // `bucket_ticks` and `buckets` are rounded up to powers of two.
    explicit OwnEvents(std::size_t neurons, Tick bucket_ticks = Tick{1} << 17, std::size_t buckets = 1024)
        : CalendarRing(bucket_ticks, buckets), when_(neurons, kNever) {}
    // Set (or move) the one own event of a neuron; kNever removes it.
    void set(std::uint32_t neuron, Tick t) {
        Tick& w = when_[neuron];
        if (w == t) return;
        if (w == kNever) ++live_;
        else if (t == kNever) --live_;
        w = t;
        if (t != kNever) insert(OwnEvent{t, neuron});
    }
    bool empty() const { return live_ == 0; }
    // Every neuron's own event time (kNever: none), for checkpoints: set()
    // with these on a fresh calendar gives the same sequence of pops.
    const BigVector<Tick>& times() const { return when_; }
    // The earliest own event; requires !empty().
    Event top() {
        const OwnEvent& e = front();
        return Event{e.t, e.neuron, 0, 0, EventKind::Crossing};
    }
    // Remove the earliest own event; requires !empty().
    void pop() {
        when_[front().neuron] = kNever;
        --live_;
        std::pop_heap(active_.begin(), active_.end(), later_);
        active_.pop_back();
    }

private:
    bool live(const OwnEvent& e) const { return when_[e.neuron] == e.t; }
    void insert(const OwnEvent& e) {
        if (place(e)) {
            // Far events moved again and again would pile up stale entries
            // until the ring reaches their time: drop them now and then.
            if (far_.size() > 2 * live_ + 1024) {
                std::erase_if(far_, [this](const OwnEvent& f) { return !live(f); });
                std::make_heap(far_.begin(), far_.end(), later_);
            }
        }
    }
    // The live entry on top of active_, advancing through the buckets as needed.
    const OwnEvent& front() {
        while (true) {
            while (!active_.empty() && !live(active_.front())) {
                std::pop_heap(active_.begin(), active_.end(), later_);
                active_.pop_back();
            }
            if (!active_.empty()) return active_.front();
            advance();
        }
    }
    // active_ is empty and some entry is live: move on to the next bucket with entries.
    void advance() {
        if (in_ring_ == 0) current_ = std::max(current_, bucket(far_.front().t) - 1);  // skip empty buckets
        ++current_;
        const Tick horizon = current_ + static_cast<Tick>(ring_.size());
        while (!far_.empty() && bucket(far_.front().t) < horizon) {
            const OwnEvent e = far_.front();
            std::pop_heap(far_.begin(), far_.end(), later_);
            far_.pop_back();
            if (live(e)) insert(e);
        }
        std::vector<OwnEvent>& slot = ring_[static_cast<std::size_t>(current_) & mask_];
        in_ring_ -= slot.size();
        for (const OwnEvent& e : slot)
            if (live(e)) active_.push_back(e);
        slot.clear();  // keeps its capacity
        std::make_heap(active_.begin(), active_.end(), later_);
    }

    BigVector<Tick> when_;  // per neuron: the time of its own event, kNever if none (set at random)
    std::size_t live_ = 0;    // neurons with an own event (ring_ and far_ may hold stale entries too)
};

// The external drive: SourceFire and Input events, and the deliveries of
// spike sources' spikes (the engine decides which go here).  They come in large
// numbers (Brunel's drive is three quarters of all events), spread evenly in
// time, and are never moved or withdrawn once queued, so a calendar beats the
// heap: push appends to the bucket of its time, O(1), and pops come in exact
// key order (EventLater, CalendarRing), so the sequence of pops is the heap's.
class DriveCalendar : private CalendarRing<Event, EventLater, true> {
public:
    // `bucket_ticks` and `buckets` are rounded up to powers of two.
    explicit DriveCalendar(Tick bucket_ticks = Tick{1} << 17, std::size_t buckets = 4096)
        : CalendarRing(bucket_ticks, buckets) {}
    void push(const Event& e) {
        ++size_;
        place(e);
    }
    bool empty() const { return size_ == 0; }
    std::size_t size() const { return size_; }
    // The earliest event; requires !empty().
    const Event& top() {
        while (active_.empty()) advance();
        return active_.back();
    }
    // Remove the earliest event; requires !empty().
    void pop() {
        while (active_.empty()) advance();
        active_.pop_back();
        --size_;
    }
    // The earliest event if it is already in the bucket under way, else null
    // (cheap: for prefetching).
    const Event* peek() const { return active_.empty() ? nullptr : &active_.back(); }
    // An event at t will be pushed soon: start loading its bucket's header (a
    // cache hint; the headers are read at random, one push after another).
    void prefetch_slot(Tick t) const {
        const Tick b = bucket(t);
        if (b > current_ && b - current_ < static_cast<Tick>(ring_.size()))
            __builtin_prefetch(&ring_[static_cast<std::size_t>(b) & mask_]);
    }
    // Every queued event, in no particular order (checkpoints).
    std::vector<Event> events() const {
        std::vector<Event> all(active_.begin(), active_.end());
        for (const auto& slot : ring_) all.insert(all.end(), slot.begin(), slot.end());
        all.insert(all.end(), far_.begin(), far_.end());
        return all;
    }
    void clear() {
        active_.clear();
        for (auto& slot : ring_) slot.clear();
        far_.clear();
        size_ = in_ring_ = 0;
    }

private:
    // active_ is empty and size_ > 0: move on to the next bucket with events.
    void advance() {
        if (in_ring_ == 0) current_ = std::max(current_, bucket(far_.front().t) - 1);  // skip empty buckets
        ++current_;
        const Tick horizon = current_ + static_cast<Tick>(ring_.size());
        while (!far_.empty() && bucket(far_.front().t) < horizon) {
            const Event e = far_.front();
            std::pop_heap(far_.begin(), far_.end(), later_);
            far_.pop_back();
            place(e);
        }
        std::vector<Event>& slot = ring_[static_cast<std::size_t>(current_) & mask_];
        in_ring_ -= slot.size();
        // active_ holds at most events just pulled from far_ (bucket current_).
        if (active_.empty()) active_.swap(slot);  // the slot keeps the old buffer for later
        else active_.insert(active_.end(), slot.begin(), slot.end());
        slot.clear();
        order_active();
        // The next bucket is taken soon: start loading it (a cache hint).
        const std::vector<Event>& next = ring_[static_cast<std::size_t>(current_ + 1) & mask_];
        for (std::size_t i = 0; i < next.size(); i += 64 / sizeof(Event)) __builtin_prefetch(&next[i]);
        __builtin_prefetch(&ring_[static_cast<std::size_t>(current_ + 2) & mask_]);
    }

    std::size_t size_ = 0;  // events queued
};

// Deliveries of projections whose synapses all have one delay d > 0, one
// lane per distinct d.  A partition handles its events in time order, so the
// deliveries it queues into one lane come in time order too: a push goes to
// the back of its lane, past the few entries at the same tick that the rest
// of the key puts after it, and a pop takes the front, O(1) both, where the
// heap needs O(log n) comparisons of the whole key.  Deliveries that other
// partitions sent are staged and merged into the lanes in one pass each
// (merge_staged()).  Each lane is in exact key order (EventLater), and top()
// is the earliest of their fronts, so the sequence of pops is the heap's.
class DelayLanes {
public:
    explicit DelayLanes(std::size_t lanes = 0) : lanes_(lanes), staged_(lanes) {}
    // (top() points into a lane: a copy would point into the original; a move keeps the buffers)
    DelayLanes(const DelayLanes&) = delete;
    DelayLanes& operator=(const DelayLanes&) = delete;
    DelayLanes(DelayLanes&&) = default;
    DelayLanes& operator=(DelayLanes&&) = default;
    bool empty() const { return front_ == nullptr; }
    // Events queued (not counting staged ones); counts, for tests.
    std::size_t size() const {
        std::size_t n = 0;
        for (const Lane& l : lanes_) n += l.buf.size() - l.head;
        return n;
    }

    // Queue e in lane `lane`.  Contract: e comes after every event already
    // popped from that lane (true of anything queued at or after the time of
    // the last pop with a delay > 0).
    void push(std::size_t lane, const Event& e) {
        Lane& l = lanes_[lane];
        l.buf.push_back(e);
        std::size_t i = l.buf.size() - 1;
        for (; i > l.head && later_(l.buf[i - 1], e); --i) l.buf[i] = l.buf[i - 1];
        l.buf[i] = e;
        // Only this lane's front can have changed (and moved, if its buffer grew).
        if (front_ == nullptr || lane == best_ || later_(*front_, l.buf[l.head])) {
            front_ = &l.buf[l.head];
            best_ = lane;
        }
    }
    // Queue e in lane `lane` once merge_staged() is called (the same
    // contract as push).  Any order is correct; the cost is linear when the
    // events of each lane come in time order, as one partition sends them.
    void stage(std::size_t lane, const Event& e) { staged_[lane].push_back(e); }
    void merge_staged() {
        const auto earlier = [this](const Event& a, const Event& b) { return later_(b, a); };
        for (std::size_t k = 0; k < lanes_.size(); ++k) {
            std::vector<Event>& s = staged_[k];
            if (s.empty()) continue;
            // Insertion sort: in time order already, only ties at a tick may need moving.
            for (std::size_t i = 1; i < s.size(); ++i) {
                const Event e = s[i];
                std::size_t j = i;
                for (; j > 0 && later_(s[j - 1], e); --j) s[j] = s[j - 1];
                s[j] = e;
            }
            Lane& l = lanes_[k];
            const std::size_t mid = l.buf.size();
            l.buf.insert(l.buf.end(), s.begin(), s.end());
            const auto middle = l.buf.begin() + static_cast<std::ptrdiff_t>(mid);
            // (the queued events before the first staged one stay where they are)
            const auto first = std::upper_bound(l.buf.begin() + static_cast<std::ptrdiff_t>(l.head), middle, *middle, earlier);
            std::inplace_merge(first, middle, l.buf.end(), earlier);
            s.clear();
        }
        find_front();
    }
    // The earliest event; requires !empty().
    const Event& top() const { return *front_; }
    // The event k places behind the earliest in the earliest's lane, or null
    // (for cache hints: another lane's events may come between).
    const Event* ahead(std::size_t k) const {
        if (front_ == nullptr) return nullptr;
        const Lane& l = lanes_[best_];
        return l.head + k < l.buf.size() ? &l.buf[l.head + k] : nullptr;
    }
    // Remove the earliest event; requires !empty().
    void pop() {
        Lane& l = lanes_[best_];
        if (++l.head == l.buf.size()) {
            l.buf.clear();  // keeps the capacity
            l.head = 0;
        } else if (l.head >= kCompactAt && 2 * l.head >= l.buf.size()) {
            l.buf.erase(l.buf.begin(), l.buf.begin() + static_cast<std::ptrdiff_t>(l.head));
            l.head = 0;
        }
        find_front();
    }
    // Every queued event (staged ones included), in no particular order (checkpoints).
    std::vector<Event> events() const {
        std::vector<Event> all;
        for (std::size_t k = 0; k < lanes_.size(); ++k) {
            const Lane& l = lanes_[k];
            all.insert(all.end(), l.buf.begin() + static_cast<std::ptrdiff_t>(l.head), l.buf.end());
            all.insert(all.end(), staged_[k].begin(), staged_[k].end());
        }
        return all;
    }
    void clear() {
        for (Lane& l : lanes_) {
            l.buf.clear();
            l.head = 0;
        }
        for (auto& s : staged_) s.clear();
        find_front();
    }

private:
    static constexpr std::size_t kCompactAt = 4096;  // popped entries worth moving the rest for
    struct Lane {
        std::vector<Event> buf;  // [head, size): queued, in key order
        std::size_t head = 0;
    };
    // After every change: the earliest front and its lane (the run loop
    // reads top() at every event, so it is kept at hand).
    void find_front() {
        front_ = nullptr;
        for (std::size_t k = 0; k < lanes_.size(); ++k) {
            const Lane& l = lanes_[k];
            if (l.head == l.buf.size()) continue;
            if (front_ == nullptr || later_(*front_, l.buf[l.head])) {
                front_ = &l.buf[l.head];
                best_ = k;
            }
        }
    }

    EventLater later_;
    std::vector<Lane> lanes_;
    std::vector<std::vector<Event>> staged_;  // per lane: merged in by merge_staged()
    const Event* front_ = nullptr;            // the earliest event, null when empty
    std::size_t best_ = 0;                    // its lane
};

// One Poisson input arriving at one neuron: an Input event, compactly (the
// batches below move every arrival a few times).
struct InputArrival {
    Tick t;
    std::uint32_t neuron;  // global index (the event's src)
    std::uint32_t input;   // the input's index (the event's aux)
    Event event() const { return Event{t, neuron, input, 0, EventKind::Input}; }
};

// Poisson inputs a window of time at a time.  The inputs' trains are drawn per
// neuron, so the handler can draw every arrival of a window [from, to) in one
// pass over its neurons (their random streams read in order, not at random
// one arrival after another) and hand them over here; finish_fill() puts them
// in key order (EventLater) and the run loop takes them from the front.  The
// window width sets only the cost: the arrivals and their order are the same
// as if each had been queued alone.
class InputBatch {
public:
    // How far ahead the run loop prefetches the neurons of inputs.
    static constexpr std::size_t kInputLookahead = 8;

    bool empty() const { return next_ == arrivals_.size(); }
    Event top() const { return arrivals_[next_].event(); }
    void pop() { ++next_; }
    // The arrival k places after the earliest, or null (cache hints).
    const InputArrival* ahead(std::size_t k) const {
        return next_ + k < arrivals_.size() ? &arrivals_[next_ + k] : nullptr;
    }
    // The end of the windows drawn so far: the next window starts here
    // (kNever: no input will arrive again).
    Tick filled_to() const { return filled_to_; }

    // Drawing the window [filled_to(), to): the (empty) buffer for its
    // arrivals, in any order; then finish_fill(to).  Only when empty().
    std::vector<InputArrival>& start_fill() {
        arrivals_.clear();
        next_ = 0;
        return arrivals_;
    }
    void finish_fill(Tick to);
    // No input will arrive from filled_to() on.
    void finish_inputs() { filled_to_ = kNever; }

    // Checkpoints: the Input events not yet taken (in key order) and
    // filled_to(); restore() takes them back.
    std::vector<Event> pending() const {
        std::vector<Event> out;
        for (std::size_t i = next_; i < arrivals_.size(); ++i) out.push_back(arrivals_[i].event());
        return out;
    }
    void restore(const std::vector<Event>& pending, Tick filled_to) {
        arrivals_.clear();
        for (const Event& e : pending) arrivals_.push_back(InputArrival{e.t, e.src, e.aux});
        next_ = 0;
        filled_to_ = filled_to;
    }

private:
    std::vector<InputArrival> arrivals_, scratch_;
    std::size_t next_ = 0;  // arrivals_[next_] is the earliest not yet taken
    Tick filled_to_ = 0;
};

// Stable LSD radix sort by the time within the window (11 bits a pass), then
// insertion sort by the whole key: after the radix passes only events at the
// same tick can be out of order, and they are rare (two inputs of one neuron,
// or arrivals of different inputs at one tick), so that last pass is one
// comparison per event.
inline void InputBatch::finish_fill(Tick to) {
    const Tick from = filled_to_;
    filled_to_ = to;
    const std::size_t n = arrivals_.size();
    if (n < 2) return;
    constexpr unsigned kBits = 11;
    constexpr std::size_t kBins = std::size_t{1} << kBits;
    const auto bin = [from](const InputArrival& a, unsigned shift) {
        return (static_cast<std::uint64_t>(a.t - from) >> shift) & (kBins - 1);
    };
    const unsigned width = static_cast<unsigned>(std::bit_width(static_cast<std::uint64_t>(to - from - 1)));
    scratch_.resize(n);
    std::size_t count[kBins];
    for (unsigned shift = 0; shift < width; shift += kBits) {
        std::fill(count, count + kBins, std::size_t{0});
        for (const InputArrival& a : arrivals_) ++count[bin(a, shift)];
        std::size_t sum = 0;
        for (std::size_t& c : count) {
            const std::size_t k = c;
            c = sum;
            sum += k;
        }
        for (const InputArrival& a : arrivals_) scratch_[count[bin(a, shift)]++] = a;
        arrivals_.swap(scratch_);
    }
    // The key of Input events at one tick: (src, aux).
    const auto later = [](const InputArrival& a, const InputArrival& b) {
        if (a.t != b.t) return a.t > b.t;
        return a.neuron != b.neuron ? a.neuron > b.neuron : a.input > b.input;
    };
    for (std::size_t i = 1; i < n; ++i) {
        if (!later(arrivals_[i - 1], arrivals_[i])) continue;
        const InputArrival a = arrivals_[i];
        std::size_t j = i;
        for (; j > 0 && later(arrivals_[j - 1], a); --j) arrivals_[j] = arrivals_[j - 1];
        arrivals_[j] = a;
    }
}

// The run loop: take the earliest event of the five queues, let the handler
// apply it and schedule what follows.  Processes every event with t < end;
// later events stay queued so that a run can be continued.  Returns the
// number of events processed.  When the Poisson inputs drawn so far are all
// taken, the handler draws the next window (fill_inputs()) if it starts
// before `end`.
template <class Handler>
std::uint64_t run_until(EventQueue& queue, DelayLanes& lanes, DriveCalendar& drive, InputBatch& inputs, OwnEvents& own,
                        Handler& handler, Tick end) {
    const EventLater later;
    std::uint64_t processed = 0;
    while (true) {
        if (inputs.empty() && inputs.filled_to() < end) {
            handler.fill_inputs();
            continue;
        }
        // 0: the heap, 1: the drive, 2: own events, 3: inputs, 4: the lanes (the earliest present).
        int from = queue.empty() ? -1 : 0;
        Event e{};
        if (from == 0) e = queue.top();
        if (!lanes.empty() && (from < 0 || later(e, lanes.top()))) {
            from = 4;
            e = lanes.top();
        }
        if (!drive.empty() && (from < 0 || later(e, drive.top()))) {
            from = 1;
            e = drive.top();
        }
        if (!own.empty()) {
            const Event o = own.top();
            if (from < 0 || later(e, o)) {
                from = 2;
                e = o;
            }
        }
        if (!inputs.empty() && (from < 0 || later(e, inputs.top()))) {
            from = 3;
            e = inputs.top();
        }
        if (from < 0 || e.t >= end) break;
        if (from == 0) {
            queue.pop();
            // The next delivery's synapse row is somewhere in a large array:
            // start loading it while this event is handled.
            if (!queue.empty()) handler.prefetch_queued(queue.top());
        } else if (from == 1) {
            drive.pop();
            // Drive events touch neurons all over memory: start loading the
            // next one's state while this one is handled.
            if (const Event* next = drive.peek()) handler.prefetch(*next);
        } else if (from == 4) {
            lanes.pop();
            if (!lanes.empty()) handler.prefetch_queued(lanes.top());
            handler.prefetch_lanes(lanes);
        } else if (from == 2) {
            own.pop();
        } else {
            inputs.pop();
            // Inputs reach neurons all over memory: start loading the state of
            // the neuron a few inputs ahead while this one is handled.
            if (const InputArrival* next = inputs.ahead(InputBatch::kInputLookahead)) handler.prefetch(next->event());
        }
        handler.handle(e);
        ++processed;
    }
    return processed;
}

}  // namespace spikeem
