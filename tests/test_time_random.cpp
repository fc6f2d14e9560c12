// Time base and random streams: the two foundations every result rests on.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cmath>
#include <set>
#include <vector>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "sim/event_queue.hpp"
#include "sim/huge_pages.hpp"
#include "sim/random.hpp"
#include "sim/time.hpp"
#include "stats.hpp"

using namespace spikeem;
using spikeem::test::kZ;

TEST_CASE("TimeBase prints ticks as exact decimal milliseconds") {
    TimeBase ns(6);
    CHECK(ns.ticks_per_ms() == 1000000);
    CHECK(ns.format_ms(0) == "0.000000");
    CHECK(ns.format_ms(125000) == "0.125000");
    CHECK(ns.format_ms(47958797) == "47.958797");
    CHECK(ns.format_ms(-1500000) == "-1.500000");
    CHECK(ns.round(0.125) == 125000);
    CHECK(ns.ceil(1.0000000001) == 1000001);
    CHECK(ns.ceil(2.0) == 2000000);
    TimeBase ms(0);
    CHECK(ms.format_ms(42) == "42");
    TimeBase ps(9);
    CHECK(ps.format_ms(1) == "0.000000001");
}

TEST_CASE("Event order is total: time then kind then source then projection then group") {
    EventQueue q;
    std::vector<Event> in = {{5, 2, 0, 0, EventKind::Deliver}, {5, 1, 0, 0, EventKind::Deliver},
                             {5, 9, 0, 0, EventKind::SourceFire}, {4, 7, 3, 1, EventKind::Sample},
                             {5, 1, 0, 2, EventKind::Deliver}, {5, 1, 1, 0, EventKind::Deliver},
                             {5, 0, 0, 0, EventKind::Crossing}, {5, 3, 1, 0, EventKind::Sweep},
                             {5, 0, 4, 0, EventKind::Input},      {5, 2, 1, 3, EventKind::Current}};
    for (const auto& e : in) q.push(e);
    std::vector<std::tuple<Tick, int, std::uint32_t, std::uint32_t, std::uint32_t>> out;
    while (!q.empty()) {
        const Event e = q.top();
        q.pop();
        out.emplace_back(e.t, static_cast<int>(e.kind), e.src, e.aux, e.aux2);
    }
    auto k = [](EventKind kind) { return static_cast<int>(kind); };
    // Kinds in their documented order at one tick: SourceFire, Deliver, Input, Current, Sweep, Crossing ... Sample.
    std::vector<std::tuple<Tick, int, std::uint32_t, std::uint32_t, std::uint32_t>> expected = {
        {4, k(EventKind::Sample), 7, 3, 1},    {5, k(EventKind::SourceFire), 9, 0, 0},
        {5, k(EventKind::Deliver), 1, 0, 0},   {5, k(EventKind::Deliver), 1, 0, 2},
        {5, k(EventKind::Deliver), 1, 1, 0},   {5, k(EventKind::Deliver), 2, 0, 0},
        {5, k(EventKind::Input), 0, 4, 0},     {5, k(EventKind::Current), 2, 1, 3},
        {5, k(EventKind::Sweep), 3, 1, 0},
        {5, k(EventKind::Crossing), 0, 0, 0}};
    CHECK(out == expected);
}

// The own-event calendar against a std::set of (t, neuron): random moves,
// removals, pops and peeks, with times near (same bucket), in the ring and far
// beyond it, and with tiny rings and buckets so that every path is taken.
TEST_CASE("Own events pop in exact key order whatever the bucket width") {
    for (const auto& shape : std::vector<std::pair<Tick, std::size_t>>{{1, 2}, {8, 4}, {64, 16}, {1 << 20, 1024}}) {
        // Named variables, not a structured binding: CAPTURE's lambda cannot
        // capture a binding before clang 16 (the sanitizer builds use clang).
        const Tick bucket_ticks = shape.first;
        const std::size_t buckets = shape.second;
        CAPTURE(bucket_ticks);
        const std::uint32_t neurons = 50;
        OwnEvents own(neurons, bucket_ticks, buckets);
        std::set<std::pair<Tick, std::uint32_t>> ref;
        std::vector<Tick> when(neurons, kNever);
        RandomStream rng(1, 2, 3, static_cast<std::uint64_t>(bucket_ticks));
        Tick now = 0;
        std::size_t pops = 0;
        for (int step = 0; step < 200000; ++step) {
            const double r = rng.uniform(0.0, 1.0);
            if (r < 0.6) {  // set or move, never before now (the engine's contract)
                const std::uint32_t n = static_cast<std::uint32_t>(rng.uniform(0.0, neurons - 1e-9));
                const double span = rng.uniform(0.0, 1.0) < 0.9 ? 100.0 : 1e5;
                Tick t = now + static_cast<Tick>(rng.uniform(0.0, span));
                if (rng.uniform(0.0, 1.0) < 0.05) t = kNever;  // removal
                if (when[n] != kNever) ref.erase({when[n], n});
                when[n] = t;
                if (t != kNever) ref.insert({t, n});
                own.set(n, t);
            } else if (!ref.empty()) {
                REQUIRE(!own.empty());
                const Event e = own.top();
                const auto first = *ref.begin();
                REQUIRE(e.t == first.first);
                REQUIRE(e.src == first.second);
                CHECK(e.kind == EventKind::Crossing);
                if (r < 0.95) {  // pop and move time on (else only peek, as the run loop does)
                    own.pop();
                    ref.erase(ref.begin());
                    when[first.second] = kNever;
                    now = first.first;
                    ++pops;
                }
            } else {
                CHECK(own.empty());
            }
        }
        CHECK(pops > 50000);
        while (!ref.empty()) {
            REQUIRE(own.top().t == ref.begin()->first);
            own.pop();
            ref.erase(ref.begin());
        }
        CHECK(own.empty());
    }
}

// Events beyond the ring moved again and again: the stale copies left in the
// far heap are dropped now and then (compaction), never a live one.
TEST_CASE("Own events moved far ahead many times keep their exact order") {
    const std::uint32_t neurons = 50;
    OwnEvents own(neurons, 1, 2);  // a ring of two 1-tick buckets: nearly everything is far
    std::set<std::pair<Tick, std::uint32_t>> ref;
    std::vector<Tick> when(neurons, kNever);
    RandomStream rng(4, 5, 6, 7);
    auto set = [&](std::uint32_t n, Tick t) {
        if (when[n] != kNever) ref.erase({when[n], n});
        when[n] = t;
        ref.insert({t, n});
        own.set(n, t);
    };
    Tick now = 0;
    std::size_t pops = 0;
    for (int step = 0; step < 100000; ++step) {
        const std::uint32_t n = static_cast<std::uint32_t>(rng.uniform(0.0, neurons - 1e-9));
        set(n, now + 1000000 + static_cast<Tick>(rng.uniform(0.0, 1000.0)));
        if (step % 20 == 0) {  // and now and then one comes due soon, and the earliest pops
            set(static_cast<std::uint32_t>(rng.uniform(0.0, neurons - 1e-9)), now + static_cast<Tick>(rng.uniform(0.0, 10.0)));
            const Event e = own.top();
            REQUIRE(e.t == ref.begin()->first);
            REQUIRE(e.src == ref.begin()->second);
            own.pop();
            when[ref.begin()->second] = kNever;
            now = ref.begin()->first;
            ref.erase(ref.begin());
            ++pops;
        }
    }
    while (!ref.empty()) {
        REQUIRE(own.top().t == ref.begin()->first);
        REQUIRE(own.top().src == ref.begin()->second);
        own.pop();
        ref.erase(ref.begin());
    }
    CHECK(own.empty());
    CHECK(pops == 5000);
}

// The same event: every field of the key.
static void require_same(const Event& a, const Event& b) {
    REQUIRE(a.t == b.t);
    REQUIRE(a.kind == b.kind);
    REQUIRE(a.src == b.src);
    REQUIRE(a.aux == b.aux);
    REQUIRE(a.aux2 == b.aux2);
}

// A queue's checkpoint view (`held`, any order) holds exactly the events of the heap `ref`.
static void require_holds(std::vector<Event> held, const EventQueue& ref) {
    std::vector<Event> want(ref.begin(), ref.end());
    const auto by_key = [](const Event& x, const Event& y) { return EventLater()(y, x); };
    std::sort(held.begin(), held.end(), by_key);
    std::sort(want.begin(), want.end(), by_key);
    REQUIRE(held.size() == want.size());
    for (std::size_t i = 0; i < held.size(); ++i) require_same(held[i], want[i]);
}

// Pops what is left of `queue` and `ref` side by side: the same events in the same order.
template <class Queue>
static void require_drains_as(Queue& queue, EventQueue& ref) {
    CHECK(queue.size() == ref.size());
    while (!ref.empty()) {
        REQUIRE(!queue.empty());
        require_same(queue.top(), ref.top());
        queue.pop();
        ref.pop();
    }
    CHECK(queue.empty());
}

// The drive calendar against Boost's heap (the queue everything else uses):
// the same random pushes (never before the last pop, the engine's contract;
// same-tick ties that only the rest of the key orders; times in the bucket
// under way, in the ring and far beyond it), pops and peeks, with tiny rings
// and buckets so that every path is taken.  The pop sequences must be equal
// event for event, and the checkpoint view must hold exactly what is queued.
TEST_CASE("The drive calendar pops the same events as the heap whatever the bucket width") {
    for (const auto& shape : std::vector<std::pair<Tick, std::size_t>>{{1, 2}, {8, 4}, {64, 16}, {1 << 20, 4096}}) {
        const Tick bucket_ticks = shape.first;
        const std::size_t buckets = shape.second;
        CAPTURE(bucket_ticks);
        DriveCalendar drive(bucket_ticks, buckets);
        EventQueue ref;
        RandomStream rng(2, 3, 4, static_cast<std::uint64_t>(bucket_ticks));
        auto below = [&](double n) { return static_cast<std::uint32_t>(rng.uniform(0.0, n - 1e-9)); };
        Tick now = 0;
        std::size_t pops = 0;
        for (int step = 0; step < 200000; ++step) {
            const double r = rng.uniform(0.0, 1.0);
            if (r < 0.5) {
                const double span = rng.uniform(0.0, 1.0) < 0.9 ? 100.0 : 1e5;
                const Event e{now + static_cast<Tick>(rng.uniform(0.0, span)), below(20), below(3), 0,
                              rng.uniform(0.0, 1.0) < 0.5 ? EventKind::Input : EventKind::SourceFire};
                drive.push(e);
                ref.push(e);
            } else if (!ref.empty()) {
                REQUIRE(!drive.empty());
                const Event b = ref.top();
                require_same(drive.top(), b);
                if (r < 0.95) {  // pop and move time on (else only peek, as the run loop does)
                    drive.pop();
                    ref.pop();
                    now = b.t;
                    ++pops;
                    if (const Event* next = drive.peek()) CHECK(next->t == ref.top().t);
                }
            } else {
                CHECK(drive.empty());
            }
            if (step % 20000 == 0) require_holds(drive.events(), ref);
        }
        CHECK(pops > 50000);
        require_drains_as(drive, ref);
    }
}

// Delay lanes as a partition uses them: deliveries pushed at the time of the
// last pop plus their lane's delay, several at one tick (ties that only src,
// aux and aux2 order, pushed in any order), and batches of another
// partition's deliveries staged out of order and merged in at "epoch" starts
// (between the local ones; never before the last pop, as the lookahead ensures).
// Every pop must be the heap's, the checkpoint view must hold exactly what is
// queued, and a look ahead in a lane must see that lane's events in key order.
TEST_CASE("Delay lanes pop the same deliveries as the heap") {
    for (std::size_t lanes : {std::size_t{1}, std::size_t{3}}) {
        CAPTURE(lanes);
        const std::vector<Tick> delay{5, 1, 17};
        DelayLanes fifo(lanes);
        EventQueue ref;
        RandomStream rng(9, 8, 7, lanes);
        auto below = [&](double n) { return static_cast<std::uint32_t>(rng.uniform(0.0, n - 1e-9)); };
        Tick now = 0;
        std::size_t pops = 0, merges = 0, ties = 0, ahead_checks = 0;
        std::vector<Tick> last_push(lanes, -1);
        std::vector<std::pair<std::size_t, Event>> remote;  // sent during the current "epoch"
        for (int step = 0; step < 200000; ++step) {
            const double r = rng.uniform(0.0, 1.0);
            if (r < 0.45) {  // a spike now: deliveries in lanes of its projections, at now + delay
                const std::size_t lane = below(static_cast<double>(lanes));
                const Event e{now + delay[lane], below(30), static_cast<std::uint32_t>(lane), below(4),
                              EventKind::Deliver};
                if (rng.uniform(0.0, 1.0) < 0.3) {
                    remote.emplace_back(lane, Event{e.t + below(20), e.src, e.aux, e.aux2, e.kind});
                } else {
                    ties += last_push[lane] == e.t;  // (its place then depends on src and aux2)
                    last_push[lane] = e.t;
                    fifo.push(lane, e);
                    ref.push(e);
                }
            } else if (r < 0.47) {  // an epoch ends: what others sent arrives, shuffled
                for (std::size_t i = remote.size(); i > 1; --i) std::swap(remote[i - 1], remote[below(i)]);
                for (const auto& [lane, e] : remote) {
                    if (e.t <= now) continue;  // the lookahead keeps these out of a real run
                    fifo.stage(lane, e);
                    ref.push(e);
                }
                merges += !remote.empty();
                remote.clear();
                fifo.merge_staged();
            } else if (!ref.empty()) {
                REQUIRE(!fifo.empty());
                const Event b = ref.top();
                require_same(fifo.top(), b);
                if (pops % 500 == 0) {
                    // ahead(k): the k-th event after the earliest in the earliest's lane
                    // (here aux is the lane), null past the lane's end.
                    std::vector<Event> lane;
                    for (const Event& e : fifo.events())
                        if (e.aux == b.aux) lane.push_back(e);
                    std::sort(lane.begin(), lane.end(), [](const Event& x, const Event& y) { return EventLater()(y, x); });
                    for (std::size_t k : {std::size_t{0}, std::size_t{1}, std::size_t{4}, lane.size() - 1, lane.size()}) {
                        CAPTURE(k);
                        const Event* a = fifo.ahead(k);
                        REQUIRE((a != nullptr) == (k < lane.size()));
                        if (a != nullptr) require_same(*a, lane[k]);
                    }
                    ++ahead_checks;
                }
                fifo.pop();
                ref.pop();
                now = b.t;
                ++pops;
            } else {
                CHECK(fifo.empty());
            }
            if (step % 20000 == 0) require_holds(fifo.events(), ref);
        }
        require_holds(fifo.events(), ref);
        CHECK(pops > 50000);
        CHECK(merges > 1000);
        CHECK(ties > 1000);
        CHECK(ahead_checks > 100);
        require_drains_as(fifo, ref);
    }
}

TEST_CASE("round_nonneg is llround, without the library call") {
    RandomStream rng(5, 6, 7, 8);
    for (int digits : {0, 3, 6, 9}) {
        const TimeBase tb(digits);
        CAPTURE(digits);
        const double tpm = static_cast<double>(tb.ticks_per_ms());
        std::vector<double> ms = {0.0, 1e-300, 0.5 / tpm, std::nextafter(0.5 / tpm, 0.0), 2.5 / tpm, 1e6, tb.max_ms() / 4};
        // Halves and their neighbours: where truncating then comparing could go wrong.
        for (int k = 0; k < 2000; ++k) {
            const double half = (std::floor(rng.uniform(0.0, 1e7)) + 0.5) / tpm;
            ms.push_back(half);
            ms.push_back(std::nextafter(half, 0.0));
            ms.push_back(std::nextafter(half, 1e300));
            ms.push_back(rng.uniform(0.0, 1e4));
            ms.push_back(rng.exponential(1e9));
        }
        for (double x : ms) {
            CAPTURE(x);
            REQUIRE(tb.round_nonneg(x) == tb.round(x));
        }
    }
}

TEST_CASE("An input batch gives its arrivals in the heap's order, whatever the window") {
    // Windows from one tick to 2^40 ticks: none, one, two and four radix passes.
    for (const Tick width : {Tick{1}, Tick{7}, Tick{2048}, Tick{2049}, Tick{1} << 22, (Tick{1} << 40) + 3}) {
        CAPTURE(width);
        InputBatch batch;
        RandomStream rng(9, 10, 11, static_cast<std::uint64_t>(width));
        std::vector<Event> all;
        for (int window = 0; window < 4; ++window) {
            const Tick from = batch.filled_to();
            std::vector<InputArrival>& buf = batch.start_fill();
            // Few neurons and inputs, and clustered times: many events share a tick and a neuron.
            const int n = window == 2 ? 1 : 3000;
            for (int k = 0; k < n; ++k) {
                const Tick t = from + static_cast<Tick>(rng.below(static_cast<std::uint64_t>(width)) /
                                                        (k % 3 == 0 ? std::max<Tick>(width / 4, 1) : 1));
                buf.push_back(InputArrival{t, static_cast<std::uint32_t>(rng.below(40)),
                                           static_cast<std::uint32_t>(rng.below(3))});
                all.push_back(buf.back().event());
            }
            batch.finish_fill(from + width);
            CHECK(batch.filled_to() == from + width);
            // Drawn in key order: the heap holding the same events pops them alike.
            EventQueue ref;
            for (const Event& e : all) ref.push(e);
            all.clear();
            std::size_t taken = 0;
            while (!batch.empty()) {
                const Event a = batch.top(), b = ref.top();
                REQUIRE(a.t == b.t);
                REQUIRE(a.src == b.src);
                REQUIRE(a.aux == b.aux);
                REQUIRE(a.kind == EventKind::Input);
                REQUIRE(a.t >= from);
                REQUIRE(a.t < from + width);
                if (taken == 100) {  // a checkpoint halfway through a window
                    const std::vector<Event> left = batch.pending();
                    InputBatch copy;
                    copy.restore(left, batch.filled_to());
                    REQUIRE(copy.pending().size() == left.size());
                    CHECK(copy.top().t == a.t);
                    CHECK(copy.filled_to() == batch.filled_to());
                }
                batch.pop();
                ref.pop();
                ++taken;
            }
            CHECK(ref.empty());
            CHECK(taken == static_cast<std::size_t>(n));
        }
        batch.finish_inputs();
        CHECK(batch.filled_to() == kNever);
    }
}

TEST_CASE("Random streams are pure functions of their key") {
    RandomStream a(7, 1, 2, 3), b(7, 1, 2, 3), c(7, 1, 2, 4), d(8, 1, 2, 3);
    std::vector<std::uint64_t> va, vb, vc, vd;
    for (int i = 0; i < 10; ++i) {
        va.push_back(a.next_u64());
        vb.push_back(b.next_u64());
        vc.push_back(c.next_u64());
        vd.push_back(d.next_u64());
    }
    CHECK(va == vb);
    CHECK(va != vc);
    CHECK(va != vd);
    CHECK(stable_hash("E") == 0xaf63f84c86021c20ull);  // FNV-1a of "E": fixed forever, or seeds change meaning
}

TEST_CASE("Uniform and exponential and bounded integers have the right moments (alpha = 0.001 each)") {
    // z-tests on the mean with n = 200000; |z| < kZ is two-sided alpha = 0.001.
    const int n = 200000;
    RandomStream r(1, 2, 3, 4);
    double su = 0, se = 0, sn = 0, sn2 = 0;
    for (int i = 0; i < n; ++i) {
        su += r.uniform();
        se += r.exponential(2.0);
        double z = r.normal();
        sn += z;
        sn2 += z * z;
    }
    CHECK(std::abs((su / n - 0.5) / std::sqrt(1.0 / 12 / n)) < kZ);
    CHECK(std::abs((se / n - 2.0) / std::sqrt(4.0 / n)) < kZ);
    CHECK(std::abs((sn / n) / std::sqrt(1.0 / n)) < kZ);
    CHECK(std::abs((sn2 / n - 1.0) / std::sqrt(2.0 / n)) < kZ);
    // below(7): chi-square with 6 degrees of freedom; 22.46 is the 0.999 quantile.
    std::vector<int> counts(7, 0);
    for (int i = 0; i < 70000; ++i) ++counts[r.below(7)];
    double chi2 = 0;
    for (int c : counts) chi2 += (c - 10000.0) * (c - 10000.0) / 10000.0;
    CHECK(chi2 < 22.46);
}

TEST_CASE("Big vectors: large storage starts on a 2 MiB boundary, small storage is ordinary, contents survive growth") {
    auto offset = [](const void* p) { return reinterpret_cast<std::uintptr_t>(p) % kHugePageBytes; };
    BigVector<std::uint32_t> v;
    const std::size_t threshold = kHugeArrayBytes / sizeof(std::uint32_t);
    // Grown one element at a time across the threshold: every reallocation copies.
    std::size_t large = 0, aligned = 0;  // reallocations to large storage, and those on a boundary
    const std::uint32_t* before = nullptr;
    for (std::uint32_t k = 0; k < 3 * threshold; ++k) {
        v.push_back(k * 2654435761u);
        if (v.data() == before) continue;
        before = v.data();
        if (v.capacity() < threshold) continue;
        ++large;
        aligned += offset(v.data()) == 0;
    }
    CHECK(large >= 2);
    CHECK(aligned == large);
    bool same = true;
    for (std::uint32_t k = 0; k < v.size(); ++k) same = same && v[k] == k * 2654435761u;
    CHECK(same);
    // Shrunk below the threshold: ordinary storage again, the same contents.
    v.resize(100);
    v.shrink_to_fit();
    CHECK(v.capacity() < threshold);
    CHECK(v[99] == 99u * 2654435761u);
    // Elements larger than a byte and a size that is no multiple of the page.
    BigVector<double> w(threshold / 2 + 12345, 1.5);
    CHECK(offset(w.data()) == 0);
    CHECK(w.back() == 1.5);
}

#if defined(__linux__)
TEST_CASE("Big vectors: large storage is whole huge pages of its own, given back when freed") {
    // mincore fails with ENOMEM on an address range that is not mapped.
    auto mapped = [](const void* p, std::size_t bytes) {
        std::vector<unsigned char> pages(bytes / 4096 + 1);
        return mincore(const_cast<void*>(p), bytes, pages.data()) == 0;
    };
    const std::size_t n = kHugeArrayBytes / sizeof(double) + 1000;  // a little over 1 MiB
    const void* p = nullptr;
    {
        BigVector<double> v(n, 2.5);
        p = v.data();
        CHECK(reinterpret_cast<std::uintptr_t>(p) % kHugePageBytes == 0);
        // The array's 1 MiB and the rest of its huge page: a whole 2 MiB can be a huge page.
        CHECK(mapped(p, kHugePageBytes));
        CHECK(v.back() == 2.5);
    }
    // Freed (nothing was allocated since): the whole mapping went back.
    CHECK_FALSE(mapped(p, 4096));
    CHECK_FALSE(mapped(static_cast<const char*>(p) + kHugePageBytes - 4096, 4096));
}
#endif
