#include "network/models/lif_delta.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <stdexcept>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "network/models/per_neuron.hpp"

namespace spikeem {

//
// Representation: V_i(t) = v_rest + u_i exp(-(t - t0)/tau_m) for t >= clamp_i
// (before clamp_i the neuron is refractory, V held at v_reset).  u_i is
// constant between inputs, an input adds w exp((t - t0)/tau_m), a factor
// shared by every target of one spike, and "V >= v_th" is "u_i >= the
// threshold line (v_th - v_rest) exp((t - t0)/tau_m)", also shared: delivery
// costs one exp per block, not per synapse.  The engine moves t0 to every
// multiple of the rebase period (40 tau_m, rebase()), so the factors stay
// below e^40; the instants depend on time alone, so a neuron's arithmetic is
// the same however the population is partitioned among threads.
//
// With levels per neuron (NeuronLevels: drawn, or moved by currents) v_rest,
// v_th and v_reset are neuron i's own: the line is (v_th_i - v_rest_i) times
// the shared factor, one multiply more per target.  A current that moves v_rest_i
// at t keeps V continuous: u_i changes by -delta exp((t - t0)/tau_m).
//
// With tau_m spread per neuron the factors exp((t - t0)/tau_m_i) are the
// neuron's own (one exp per input), the rebase period is 40 times the
// shortest tau_m, and the windows at most 20 times it, so every factor stays
// below e^40 as with a shared tau_m.

LifDeltaPopulation::LifDeltaPopulation(const PopulationSpec& spec, std::uint32_t index, std::uint32_t global_offset,
                                       const TimeBase& time, std::uint64_t seed)
    : Population(spec.name, spec.size, index, global_offset),
      p_(std::get<LifDeltaParams>(spec.model)),
      lv_(spec, {p_.v_rest_mV, p_.v_th_mV, p_.v_reset_mV, p_.t_ref_ms}, spec.takes_current, time, seed),
      time_(time),
      self_crossing_(lv_.any_self_crossing()),
      inv_tau_ticks_(time.resolution_ms() / p_.tau_m_ms),
      n_(spec.size, State{0.0, 0}),
      pending_(spec.size, kNever),
      last_spike_(spec.size, -1) {
    double tau_min_ms = p_.tau_m_ms;
    if (find_spread(spec, "tau_m_ms")) {
        tau_i_ms_ = per_neuron_values(spec, "tau_m_ms", p_.tau_m_ms, seed);
        inv_tau_i_.resize(spec.size);
        for (std::uint32_t i = 0; i < spec.size; ++i) {
            inv_tau_i_[i] = time.resolution_ms() / tau_i_ms_[i];
            tau_min_ms = std::min(tau_min_ms, tau_i_ms_[i]);
        }
    }
    rebase_ticks_ = std::max<Tick>(time.round(40.0 * tau_min_ms), 1);
    // At most 20 tau_m, so that the threshold line at a window's end (growth over the
    // window times up to e^40 from the rebasing) stays finite for any tau_m.
    window_ticks_ = std::max<Tick>(time.round(std::min(kWindow_ms, 20.0 * tau_min_ms)), 1);
    const std::uint64_t pop_key = stable_hash(spec.name);
    for (std::uint32_t i = 0; i < spec.size; ++i) {
        RandomStream rng(seed, rng_domain::kInitialState, pop_key, i);
        const double v0 = spec.v_init_at_rest ? lv_.rest_start(i) : draw(p_.v_init_mV, rng);
        n_[i].u = v0 - lv_.rest(i);  // t0 = 0
    }
    build_end_growth();
}

void LifDeltaPopulation::build_end_growth() {
    constexpr Tick kMaxEntries = 4096;
    end_growth_.clear();
    end_base_ = t0_ / window_ticks_ + 1;
    if (!self_crossing_ || !inv_tau_i_.empty() || rebase_ticks_ / window_ticks_ + 2 > kMaxEntries) return;
    // Events come at t0 <= t < t0 + rebase period: window ends up to the one after it.
    const Tick last = (t0_ + rebase_ticks_) / window_ticks_ + 1;
    for (Tick k = end_base_; k <= last; ++k) end_growth_.push_back(growth(0, k * window_ticks_));
}

double LifDeltaPopulation::decay(std::uint32_t i, Tick dt) const {
    return std::exp(-static_cast<double>(dt) * inv_tau(i));
}

double LifDeltaPopulation::growth(std::uint32_t i, Tick t) const {
    return std::exp(static_cast<double>(t - t0_) * inv_tau(i));
}

double LifDeltaPopulation::reach(std::uint32_t i, Tick end) const {
    // The line is negative (v_th < v_rest): 1e-9 lower admits every u whose
    // crossing tick the logarithm in crossing_after could put before `end`.
    return gap(i) * growth(i, end) * (1.0 + 1e-9);  // this association: the bytes of shared levels
}

void LifDeltaPopulation::rebase(Tick t) {
    if (inv_tau_i_.empty()) {
        const double f = decay(0, t - t0_);
        for (State& x : n_) x.u *= f;
    } else {
        for (std::uint32_t i = 0; i < size(); ++i) n_[i].u *= decay(i, t - t0_);
    }
    t0_ = t;
    build_end_growth();
}

Tick LifDeltaPopulation::predict_crossing(std::uint32_t i, Tick now) const {
    const Tick from = std::max(now, n_[i].clamp);
    const double g = growth(i, from);
    if (n_[i].u >= gap(i) * g) return from;
    if (!self_crossing_ || gap(i) >= 0.0) return kNever;  // rests below threshold: crosses only at an input
    return crossing_after(i, n_[i].u, from);
}

Tick LifDeltaPopulation::crossing_after(std::uint32_t i, double u, Tick from) const {
    // u e^{-(t - t0)/tau} = v_th - v_rest at t = t0 + tau ln(u / (v_th - v_rest)); both are negative.
    const double s_ms = tau_ms(i) * std::log(u / gap(i));
    const Tick s = time_.ceil(s_ms);
    if (s == kNever || t0_ > kNever - s) return kNever;
    return std::max(t0_ + s, from + 1);
}

void LifDeltaPopulation::set_pending(EngineHooks& engine, std::uint32_t i, Tick when) {
    if (when < pending_[i]) {
        pending_[i] = when;
        engine.schedule_own(global_offset() + i, when);
    }
}

void LifDeltaPopulation::consider(EngineHooks& engine, std::uint32_t i, Tick now) {
    // Below the line at the window's end V stays below threshold until then
    // (the line only falls): the sweep at the end looks again.
    const Tick end = window_end(now);
    if (n_[i].clamp >= end || n_[i].u < reach(i, end)) return;
    const Tick when = predict_crossing(i, now);
    if (when < end) set_pending(engine, i, when);
}

void LifDeltaPopulation::start(EngineHooks& engine) {
    (void)engine;  // the first sweep, at t = 0, finds the first crossings
}

void LifDeltaPopulation::sweep(EngineHooks& engine, Tick t, std::uint32_t begin, std::uint32_t end) {
    assert(t % window_ticks_ == 0);
    const Tick w_end = t + window_ticks_;
    // One loop per kind of line, so that the common one (shared levels and tau_m:
    // one line for all, a comparison per neuron) stays as tight as it can be.
    // Each neuron at or above the line (or NaN) is looked at, in ascending order.
    auto look = [&](std::uint32_t i) {
        const State& x = n_[i];
        // A pending event is no later than the crossing: it looks again when it pops.
        if (x.clamp >= w_end || pending_[i] != kNever) return;
        const Tick when = predict_crossing(i, t);
        if (when < w_end) set_pending(engine, i, when);
    };
    auto scan = [&](std::uint32_t from, auto line_of) {
        for (std::uint32_t i = from; i < end; ++i)
            if (!(n_[i].u < line_of(i))) look(i);
    };
    if (!inv_tau_i_.empty()) {
        scan(begin, [&](std::uint32_t i) { return reach(i, w_end); });
    } else if (lv_.varied()) {
        const double g_end = growth(0, w_end);  // reach(i, w_end), one exp for all
        scan(begin, [&](std::uint32_t i) { return gap(i) * g_end * (1.0 + 1e-9); });
    } else {
        const double u_reach = reach(0, w_end);
        std::uint32_t i = begin;
#if defined(__SSE2__)
        // Almost every neuron is below the line: four neurons per test (two SSE2
        // compares and one branch instead of four), and only a group with one at
        // or above it neuron by neuron.  "Not less than" as below: true for NaN too.
        const __m128d line = _mm_set1_pd(u_reach);
        // A pointer walks the states (look() does not move them): no index arithmetic per group.
        const State* const base = n_.data();
        const State* const stop = base + end;
        const State* x = base + begin;
        for (; stop - x >= 4; x += 4) {
            const __m128d lo = _mm_loadh_pd(_mm_load_sd(&x[0].u), &x[1].u);
            const __m128d hi = _mm_loadh_pd(_mm_load_sd(&x[2].u), &x[3].u);
            if (_mm_movemask_pd(_mm_or_pd(_mm_cmpnlt_pd(lo, line), _mm_cmpnlt_pd(hi, line))) == 0) continue;
            const auto at = static_cast<std::uint32_t>(x - base);
            for (std::uint32_t d = 0; d < 4; ++d)
                if (!(x[d].u < u_reach)) look(at + d);
        }
        i = static_cast<std::uint32_t>(x - base);
#endif
        scan(i, [&](std::uint32_t) { return u_reach; });  // the rest (or all, without SSE2)
    }
}

void LifDeltaPopulation::spike(EngineHooks& engine, std::uint32_t i, Tick t) {
    n_[i].clamp = t + lv_.t_ref(i);  // V is held at v_reset until then
    n_[i].u = (lv_.reset(i) - lv_.rest(i)) * growth(i, n_[i].clamp);
    last_spike_[i] = t;
    // An input may make the neuron spike before its own event: that event is
    // then stale, and goes unless consider() moves it to a new crossing.
    const bool had_event = pending_[i] != kNever;
    pending_[i] = kNever;
    engine.emit_spike(index(), i, t);
    if (self_crossing_) consider(engine, i, t);
    if (had_event && pending_[i] == kNever) engine.schedule_own(global_offset() + i, kNever);
}

void LifDeltaPopulation::on_event(EngineHooks& engine, const Event& e, std::uint32_t i) {
    assert(e.kind == EventKind::Crossing);
    // The one own event of a neuron is moved in place (OwnEvents), and taken
    // out when a spike makes it stale (spike()): the event that pops is the live one.
    assert(pending_[i] == e.t);
    assert(e.t - t0_ < rebase_ticks_);  // the engine rebases at every multiple of the period
    pending_[i] = kNever;
    // The event was the crossing, or a lower bound of it if inhibition came
    // since: look from here on.
    const Tick when = predict_crossing(i, e.t);
    if (when <= e.t) spike(engine, i, e.t);
    else if (when < window_end(e.t)) set_pending(engine, i, when);
}

void LifDeltaPopulation::deliver(EngineHooks& engine, Tick t, const std::uint32_t* targets, const double* weights,
                                 std::size_t n) {
    // Prefetching the targets' states pays only when they do not fit the caches
    // (at 4,000 neurons it is an eighth of the loop's instructions for nothing).
    const bool far = n_.size() * sizeof(State) > kPrefetchBytes;
    if (lv_.varied() || !inv_tau_i_.empty()) {
        if (far) deliver_block<true, true>(engine, t, targets, weights, n);
        else deliver_block<true, false>(engine, t, targets, weights, n);
    } else {
        if (far) deliver_block<false, true>(engine, t, targets, weights, n);
        else deliver_block<false, false>(engine, t, targets, weights, n);
    }
}

void LifDeltaPopulation::deliver_one_weight(EngineHooks& engine, Tick t, const std::uint32_t* targets,
                                            const double* weights, std::size_t n) {
    if (lv_.varied() || !inv_tau_i_.empty()) return deliver(engine, t, targets, weights, n);
    if (n_.size() * sizeof(State) > kPrefetchBytes) deliver_block<false, true, true>(engine, t, targets, weights, n);
    else deliver_block<false, false, true>(engine, t, targets, weights, n);
}

template <bool Varied, bool Prefetch, bool OneWeight>
void LifDeltaPopulation::deliver_block(EngineHooks& engine, Tick t, const std::uint32_t* targets,
                                       const double* weights, std::size_t n) {
    assert(t - t0_ < rebase_ticks_);
    // growth(0, t), shared with the spike's blocks to other populations with this tau_m
    const double g = engine.exp_memo(static_cast<double>(t - t0_) * inv_tau(0));
    // Shared levels: one line for every target; else per target, gap(i) times these.
    const double u_th = Varied ? 0.0 : gap(0) * g;
    // Excitation taking u to u_reach may bring the crossing before the window's end.
    const Tick w_end = window_end(t);
    const double g_end = self_crossing_ ? end_growth(w_end) : 0.0;
    // Spread tau_m: the factors are neuron i's own (gi: at t).
    const bool taus = Varied && !inv_tau_i_.empty();
    // A neuron resting above threshold (gap < 0) may cross later in the window
    // (its line falls); one resting below it crosses now or only at an input.
    auto line_reach = [&](std::uint32_t i, double gi) {
        if (self_crossing_ && gap(i) < 0.0) return gap(i) * (taus ? growth(i, w_end) : g_end) * (1.0 + 1e-9);
        return gap(i) * gi;
    };
    const double u_reach = Varied ? 0.0 : line_reach(0, g);
    // The targets' states are scattered over the population: on a network
    // larger than the cache each is a miss, so the loads run kAhead targets
    // ahead of their use.
    constexpr std::size_t kAhead = 8;
    // (a local pointer: the stores to u cannot then be taken to move n_'s buffer)
    State* const st = n_.data();
    // The sign bit of clamp + (-1 - t) says "live" (clamp <= t); no overflow, both are below 2^62.
    const Tick minus_t1 = -1 - t;
    // One weight: its input w g, once (a local: the stores to u could otherwise be weights[0]).
    const double w0 = OneWeight ? weights[0] : 0.0;
    const auto wg0 = std::bit_cast<std::uint64_t>(w0 * g);
    for (std::size_t k = 0; k < n; ++k) {
        if (Prefetch && k + kAhead < n) __builtin_prefetch(&st[targets[k + kAhead]], 1);
        const std::uint32_t i = targets[k];
        const double w = OneWeight ? w0 : weights[k];
        State& x = st[i];
        double gi = g;
        if constexpr (Varied) {
            if (t < x.clamp) continue;  // refractory: the input is lost
            if (taus) gi = growth(i, t);
            x.u += w * gi;
            if (x.u < line_reach(i, gi)) continue;
        } else {
            // A refractory neuron (about one input in twenty on cuba_delta, at random)
            // takes +0 instead of w g: the same u, without a branch that would be
            // mispredicted at nearly every such input.  The mask is integer work (no
            // conversion of the comparison to a double): a few instructions fewer in
            // the loop that every synaptic event runs.
            const auto live = static_cast<std::uint64_t>((x.clamp + minus_t1) >> 63);  // all ones, or 0
            x.u += std::bit_cast<double>((OneWeight ? wg0 : std::bit_cast<std::uint64_t>(w * g)) & live);
            if (x.u < u_reach || t < x.clamp) continue;
        }
        if (x.u >= (Varied ? gap(i) * gi : u_th)) {
            spike(engine, i, t);
        } else if (w > 0.0) {
            // Only excitation moves a crossing earlier; V is below threshold here.
            const Tick when = crossing_after(i, x.u, t);
            if (when < w_end) set_pending(engine, i, when);
        }
    }
}

void LifDeltaPopulation::add_current(EngineHooks& engine, std::uint32_t i, Tick t, double delta_mV) {
    assert(lv_.varied() && t - t0_ < rebase_ticks_);
    State& x = n_[i];
    // V stays continuous (or held at v_reset until the clamp ends, from where
    // u starts): u = (V - v_rest) e^{(t - t0)/tau_m} moves by -delta times the factor.
    x.u -= delta_mV * growth(i, std::max(t, x.clamp));
    lv_.add_current(i, delta_mV);
    // A higher rest level may bring a crossing into this window (the sweeps find
    // later ones); a lower one only delays it: a pending event pops and looks again.
    if (delta_mV > 0.0) consider(engine, i, t);
}

double LifDeltaPopulation::voltage_with(std::uint32_t i, Tick t, double f) const {
    if (last_spike_[i] >= 0 && t <= n_[i].clamp) return lv_.reset(i);  // held at reset while refractory
    return lv_.rest(i) + n_[i].u * f;
}

double LifDeltaPopulation::voltage_mV(std::uint32_t i, Tick t) const {
    if (last_spike_[i] >= 0 && t <= n_[i].clamp) return lv_.reset(i);  // (no exp for it)
    return voltage_with(i, t, decay(i, t - t0_));
}

void LifDeltaPopulation::observe_voltages_mV(const std::uint32_t* neurons, const std::uint32_t* pos,
                                             std::size_t count, Tick t, double* out) {
    if (!inv_tau_i_.empty()) return Population::observe_voltages_mV(neurons, pos, count, t, out);
    const double f = decay(0, t - t0_);  // every neuron's, with a shared tau_m
    for (std::size_t j = 0; j < count; ++j) out[pos[j]] = voltage_with(neurons[pos[j]], t, f);
}

double LifDeltaPopulation::drift_mV_per_ms(std::uint32_t i, Tick t) const {
    if (t < n_[i].clamp) return 0.0;  // refractory: clamped
    return -(voltage_mV(i, t) - lv_.rest(i)) / tau_ms(i);
}

double LifDeltaPopulation::psp_mV(std::uint32_t i, double w, Tick t_in, Tick t_now) const {
    const Tick s = last_spike_[i];
    // Lost if it arrived while refractory; wiped by any reset at or after its arrival.
    if (s >= 0 && (s >= t_in || t_in < s + lv_.t_ref(i))) return 0.0;
    return w * decay(i, t_now - t_in);
}

void LifDeltaPopulation::save_state(StateWriter& w) const {
    w.section("lif_delta " + name());
    lv_.save_state(w);
    w.value(t0_);
    w.values(n_);
    w.values(pending_);
    w.values(last_spike_);
}

void LifDeltaPopulation::load_state(StateReader& r) {
    r.section("lif_delta " + name());
    lv_.load_state(r);
    r.value(t0_);
    r.same_size(n_, "neuron state");
    r.same_size(pending_, "own event times");
    r.same_size(last_spike_, "last spikes");
    build_end_growth();
}

}  // namespace spikeem
