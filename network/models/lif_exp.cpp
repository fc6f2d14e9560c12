#include "network/models/lif_exp.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <stdexcept>

#include "network/models/per_neuron.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace spikeem {

//
// Representation: for t >= the end of refractoriness,
//   V(t) = v_rest + a e^{-(t-t0)/tau_m} + be e^{-(t-t0)/tau_e} + bi e^{-(t-t0)/tau_i},
// where be e^{-(t-t0)/tau_e} = ce g_e(t) and bi e^{-(t-t0)/tau_i} = ci g_i(t)
// (ce = tau_e/(tau_e - tau_m): the particular solution for a decaying current).
// a, be, bi are constant between inputs.  An input w to g_e at t adds
// ce w e^{(t-t0)/tau_e} to be and, so that V stays continuous, subtracts
// ce w e^{(t-t0)/tau_m} from a: two multiply-adds per synapse with factors
// shared by the whole delivery block.  During refractoriness only be and bi
// are kept (V is held); `a` is set when it ends.  t0 moves forward (rebase)
// before the factors of the fastest time constant grow past e^30.
//
// With time constants spread per neuron (Population.per_neuron) each neuron has
// its own Kinetics: the factors are then per target (three exps per input
// instead of per delivery block), and the rebase period follows the fastest
// time constant of any neuron.


LifExpPopulation::LifExpPopulation(const PopulationSpec& spec, std::uint32_t index, std::uint32_t global_offset,
                                   const TimeBase& time, std::uint64_t seed)
    : Population(spec.name, spec.size, index, global_offset),
      p_(std::get<LifExpParams>(spec.model)),
      lv_(spec, {p_.v_rest_mV, p_.v_th_mV, p_.v_reset_mV, p_.t_ref_ms}, spec.takes_current, time, seed),
      time_(time),
      n_(spec.size, State{0.0, 0.0, 0.0, 0.0, kNever, kLazy}),
      clamp_(spec.size, 0),
      last_spike_(spec.size, -1),
      due_(spec.size, kNever),
      swept_in_chunk_((spec.size + kChunk - 1) / kChunk) {
    double tau_min_ms = std::min({p_.tau_m_ms, p_.tau_e_ms, p_.tau_i_ms});
    if (!find_spread(spec, "tau_m_ms") && !find_spread(spec, "tau_e_ms") && !find_spread(spec, "tau_i_ms")) {
        k_.push_back(kinetics(p_.tau_m_ms, p_.tau_e_ms, p_.tau_i_ms));
    } else {
        const auto tau_m = per_neuron_values(spec, "tau_m_ms", p_.tau_m_ms, seed);
        const auto tau_e = per_neuron_values(spec, "tau_e_ms", p_.tau_e_ms, seed);
        const auto tau_i = per_neuron_values(spec, "tau_i_ms", p_.tau_i_ms, seed);
        for (std::uint32_t i = 0; i < spec.size; ++i) {
            k_.push_back(kinetics(tau_m[i], tau_e[i], tau_i[i]));
            tau_min_ms = std::min({tau_min_ms, tau_m[i], tau_e[i], tau_i[i]});
        }
    }
    rebase_ticks_ = std::max<Tick>(time.round(30.0 * tau_min_ms), 1);
    // At most 20 of the shortest time constant, so that the decay factors at a
    // window's end stay well inside double range after rebasing.
    bounded_ = k_.size() == 1;
    window_ticks_ = std::max<Tick>(
        time.round(bounded_ ? kBoundWindowTaus * tau_min_ms : std::min(kWindow_ms, 20.0 * tau_min_ms)), 1);
    // Closer than this to threshold the exact crossing is predicted; farther, a window
    // bound or a lazy check part of the way there.  A speed trade-off only
    // (examples/benchmarks/README.md says how it was tuned): spikes do not depend on it.
    m_exact_ = 0.05 * (p_.v_th_mV - p_.v_reset_mV);
    const std::uint64_t pop_key = stable_hash(spec.name);
    for (std::uint32_t i = 0; i < spec.size; ++i) {
        RandomStream rng(seed, rng_domain::kInitialState, pop_key, i);
        const double v0 = spec.v_init_at_rest ? lv_.rest_start(i) : draw(p_.v_init_mV, rng);
        n_[i].a = v0 - lv_.rest(i);  // t0 = 0, g = 0
    }
}

LifExpPopulation::Kinetics LifExpPopulation::kinetics(double tm, double te, double ti) const {
    Kinetics k{ExpCrossing(tm, te, ti), tm, te, ti, te / (te - tm), ti / (ti - tm), 0.0, 0.0,
               time_.resolution_ms() / tm, time_.resolution_ms() / te, time_.resolution_ms() / ti, 0, 0, 0};
    k.ne = k.roots.integer_re();
    k.ni = k.roots.integer_ri();
    k.horizon_ticks = std::max<Tick>(time_.round(k.roots.horizon_ms()), 1);
    // Peak of the PSP of a unit g_e jump, at s* = ln(tau_m/tau_e) tau_m tau_e/(tau_m - tau_e);
    // a hair larger so that rounding never makes the margin test optimistic.
    const double s_peak = std::log(tm / te) * tm * te / (tm - te);
    k.kmax_e = kernel(k, true, s_peak) * (1.0 + 1e-9);
    k.inv_m_slope = k.inv_m * (1.0 + 1e-9);
    return k;
}

double LifExpPopulation::kernel(const Kinetics& k, bool excitatory, double s) const {
    const double c = excitatory ? k.ce : k.ci, tau = excitatory ? k.tau_e_ms : k.tau_i_ms;
    return c * (std::exp(-s / tau) - std::exp(-s / k.tau_m_ms));
}

LifExpPopulation::Decay LifExpPopulation::decay(const Kinetics& k, Tick t) const {
    const double dt = static_cast<double>(t - t0_);
    const double m = std::exp(-dt * k.inv_m);
    return {m, k.ne ? ipow(m, k.ne) : std::exp(-dt * k.inv_e), k.ni ? ipow(m, k.ni) : std::exp(-dt * k.inv_i)};
}

LifExpPopulation::Decay LifExpPopulation::growth(const Kinetics& k, Tick t) const {
    const double dt = static_cast<double>(t - t0_);
    const double m = std::exp(dt * k.inv_m);
    return {m, k.ne ? ipow(m, k.ne) : std::exp(dt * k.inv_e), k.ni ? ipow(m, k.ni) : std::exp(dt * k.inv_i)};
}

void LifExpPopulation::rebase(Tick t) {
    const bool shared = k_.size() == 1;
    const Decay d0 = decay(k_[0], t);
    for (std::uint32_t i = 0; i < size(); ++i) {
        const Decay d = shared ? d0 : decay(k_[i], t);
        State& x = n_[i];
        x.a *= d.m;
        x.be *= d.e;
        x.bi *= d.i;
    }
    t0_ = t;
}

void LifExpPopulation::unclamp(std::uint32_t i, Tick t) {
    State& x = n_[i];
    const Decay d = decay(kin(i), t);
    // V(t) = v_reset with the currents as they are now.
    x.a = (lv_.reset(i) - lv_.rest(i) - x.be * d.e - x.bi * d.i) / d.m;
    x.mode = kLazy;
    x.margin = 0.0;
}

void LifExpPopulation::predict(EngineHooks& engine, std::uint32_t i, Tick t, const Decay& d) {
    const Kinetics& k = kin(i);
    State& x = n_[i];
    const double A = x.a * d.m, E = x.be * d.e, I = x.bi * d.i;
    const double v_th = lv_.th(i), v_rest = lv_.rest(i);
    const double gap = v_th - (v_rest + A + E + I);
    if (gap <= 0.0) {  // at or past threshold now (an input at the tick of a crossing)
        spike(engine, i, t);
        return;
    }
    // Whatever path this takes, the chunk's count of kSwept neurons follows the change.
    struct Recount {
        LifExpPopulation& pop;
        std::uint32_t i;
        bool was;
        ~Recount() { pop.count_swept(i, was, pop.n_[i].mode == kSwept); }
    } recount{*this, i, x.mode == kSwept};
    const double ticks_per_ms = static_cast<double>(time_.ticks_per_ms());
    // Whether the own event at x.pending is in the queue (kSwept's is not).
    const bool queued = x.mode != kSwept && x.pending != kNever;
    due_[i] = kNever;
    auto schedule = [&](Tick when) {
        if (when == kNever) {
            // A queued older own event pops and predicts again: harmless.  Without
            // one, nothing is due: the margin holds for good.
            if (!queued) x.pending = kNever;
            return;
        }
        if (x.mode == kLazy && when >= window_end(t)) {
            // A lazy check in a later window: the sweep of that window sees it in due_.
            if (queued) engine.schedule_own(global_offset() + i, kNever);
            x.mode = kSwept;
            x.pending = when;
            due_[i] = when;
            return;
        }
        x.pending = when;
        engine.schedule_own(global_offset() + i, when);
    };
    auto later = [&](Tick dt) { return dt >= kNever - t ? kNever : t + dt; };
    if (gap > m_exact_ && bounded_) {
        // Below threshold for good without input (a rest level below it): no check.
        const double forever = (v_th - v_rest - rise_bound(A, E, I)) * (1.0 - 1e-9);
        if (forever > 0.0) {
            x.mode = kLazy;
            x.margin = forever;
            schedule(kNever);
            return;
        }
        // Far from threshold: V stays below its chord bound until the window's end,
        // where the sweep bounds it again; only if that bound reaches threshold is
        // the crossing looked for.
        const Tick w_end = window_end(t);
        const ChordFactors f = bound_factors(k, static_cast<double>(w_end - t));
        const double margin = (v_th - v_rest - chord_bound(f, A, E, I)) * (1.0 - 1e-9);
        if (margin > 0.0) {
            x.mode = kLazy;
            x.margin = margin;
            schedule(w_end);
            return;
        }
    } else if (gap > m_exact_) {
        // Far from threshold: only find a time before V gets a fraction of the way there
        // (early_crossing: a bound, exact enough, without root finding).  Until then
        // (floor: not past it) V <= level, which leaves kLazyFraction * gap for excitation
        // to spend.
        const double level = v_th - kLazyFraction * gap;
        x.mode = kLazy;
        const ExpCrossing::Result r = k.roots.early_crossing(v_rest - level, A, E, I);
        if (r.x > 0.0) {
            const double ticks = std::floor(k.tau_m_ms * neg_log_below(r.x) * ticks_per_ms);
            if (ticks >= 1.0) {
                x.margin = v_th - level;
                schedule(ticks >= 9.0e18 ? kNever : later(static_cast<Tick>(ticks)));
                return;
            }
            // The level is reached within this tick: go for the exact crossing.
        } else {
            x.margin = v_th - level - r.sup;
            schedule(r.beyond ? later(k.horizon_ticks) : kNever);
            return;
        }
    }
    const ExpCrossing::Result r = k.roots.first_crossing(v_rest - v_th, A, E, I);
    if (r.x > 0.0) {
        // The first tick at or after the crossing, so that V is past threshold at the spike.
        const Tick s = time_.ceil(-k.tau_m_ms * std::log(r.x));
        x.mode = kExact;
        x.margin = 0.0;
        schedule(s == kNever ? kNever : later(std::max<Tick>(s, 1)));
    } else {
        x.mode = kLazy;
        x.margin = -r.sup;
        // (With window bounds the sweep looks again anyway, at the next window.)
        schedule(bounded_ ? window_end(t) : r.beyond ? later(k.horizon_ticks) : kNever);
    }
}

ChordFactors LifExpPopulation::bound_factors(const Kinetics& k, double h) const {
    const double fm = std::exp(-h * k.inv_m);
    return {fm, k.ne ? ipow(fm, k.ne) : std::exp(-h * k.inv_e), k.ni ? ipow(fm, k.ni) : std::exp(-h * k.inv_i),
            k.inv_m * k.inv_m, k.inv_e * k.inv_e, k.inv_i * k.inv_i, 0.125 * h * h};
}

bool LifExpPopulation::revalidate(std::uint32_t i, const Kinetics& k, State& x, const Decay& d, Tick t) const {
    if (x.pending == kNever) return false;
    const double bound =
        chord_bound(bound_factors(k, static_cast<double>(x.pending - t)), x.a * d.m, x.be * d.e, x.bi * d.i);
    const double margin = (lv_.th(i) - lv_.rest(i) - bound) * (1.0 - 1e-9);
    if (!(margin > 0.0)) return false;
    x.margin = margin;
    return true;
}

void LifExpPopulation::spike(EngineHooks& engine, std::uint32_t i, Tick t) {
    State& x = n_[i];
    if (x.mode == kSwept) {
        x.pending = kNever;  // nothing queued for it
        count_swept(i, true, false);
    }
    due_[i] = kNever;
    last_spike_[i] = t;
    clamp_[i] = t + lv_.t_ref(i);
    engine.emit_spike(index(), i, t);
    if (clamp_[i] > t) {
        x.mode = kRefractory;
        x.pending = clamp_[i];
        engine.schedule_own(global_offset() + i, clamp_[i]);
    } else {
        unclamp(i, t);
        predict(engine, i, t, decay(kin(i), t));
    }
}

void LifExpPopulation::start(EngineHooks& engine) {
    for (std::uint32_t i = 0; i < size(); ++i) predict(engine, i, 0, decay(kin(i), 0));
}

void LifExpPopulation::sweep(EngineHooks& engine, Tick t, std::uint32_t begin, std::uint32_t end) {
    assert(t % window_ticks_ == 0 && t - t0_ < rebase_ticks_);
    if (bounded_) {
        if (lv_.varied()) bound_window<true>(engine, t, begin, end);
        else bound_window<false>(engine, t, begin, end);
        return;
    }
    const Tick w_end = t + window_ticks_;
    // Per-neuron time constants: the lazy checks due in this window happen now, at
    // its start: earlier than their time, which a lazy check may always be.  They
    // cannot spike here: V stays below v_th - margin until `pending`.
    // Nearly every neuron has nothing due.  With SSE2, four neurons per test:
    // due - w_end is negative exactly when due < w_end (both are ticks >= 0, so
    // the difference cannot overflow), and movmskpd reads the sign bits.
    // predict() writes due_ but never resizes it, so the pointer stays valid.
    const Tick* due = due_.data();
    auto look = [&](std::size_t i) {
        if (due[i] >= w_end) return;
        assert(n_[i].mode == kSwept);
        predict(engine, static_cast<std::uint32_t>(i), t, decay(kin(static_cast<std::uint32_t>(i)), t));
    };
#if defined(__SSE2__)
    const __m128i line = _mm_set1_epi64x(w_end);
#endif
    for (std::size_t c = begin / kChunk; c * kChunk < end; ++c) {
        if (swept_in_chunk_[c].load(std::memory_order_relaxed) == 0) continue;
        std::size_t i = std::max<std::size_t>(begin, c * kChunk);
        const std::size_t stop = std::min<std::size_t>(end, (c + 1) * kChunk);
#if defined(__SSE2__)
        for (; i + 4 <= stop; i += 4) {
            const __m128i lo = _mm_sub_epi64(_mm_loadu_si128(reinterpret_cast<const __m128i*>(due + i)), line);
            const __m128i hi = _mm_sub_epi64(_mm_loadu_si128(reinterpret_cast<const __m128i*>(due + i + 2)), line);
            if (_mm_movemask_pd(_mm_castsi128_pd(_mm_or_si128(lo, hi))) != 0) {
                for (std::size_t j = i; j < i + 4; ++j) look(j);
            }
        }
#endif
        for (; i < stop; ++i) look(i);
    }
}

template <bool VariedLevels>
void LifExpPopulation::bound_window(EngineHooks& engine, Tick t, std::uint32_t begin, std::uint32_t end) {
    // Every kSwept neuron is due now (its margin was until this window's start):
    // bound V over the window from its state, with the factors of the window shared
    // by all, and keep the bound's distance to threshold as its margin.  Only where
    // the bound reaches threshold is the neuron predicted (after its chunk, in index
    // order; predict() touches only its own neuron's entries).  A neuron that was
    // predicted at this tick already (an input at t) is due at the next window.
    const Tick w_end = t + window_ticks_;
    const Decay d = decay(k_[0], t);
    const ChordFactors f = bound_factors(k_[0], static_cast<double>(window_ticks_));
    const double room0 = p_.v_th_mV - p_.v_rest_mV;
    Tick* due = due_.data();
    State* st = n_.data();
    std::uint32_t reached[kChunk];
    for (std::uint32_t c = begin / kChunk; c * kChunk < end; ++c) {
        // Chunks without a kSwept neuron (a quiet population) cost one test.
        if (swept_in_chunk_[c].load(std::memory_order_relaxed) == 0) continue;
        const std::uint32_t c0 = std::max(begin, c * kChunk), c1 = std::min(end, (c + 1) * kChunk);
        std::uint32_t n = 0;
        for (std::uint32_t i = c0; i < c1; ++i) {
            if (due[i] >= w_end) continue;  // refractory, exact, not swept, or bounded at t already
            State& x = st[i];
            assert(x.mode == kSwept);
            const double room = VariedLevels ? lv_.th(i) - lv_.rest(i) : room0;
            const double A = x.a * d.m, E = x.be * d.e, I = x.bi * d.i;
            if (room > 0.0) {
                // Decayed to below threshold for good: out of the sweep until an input.
                const double forever = (room - rise_bound(A, E, I)) * (1.0 - 1e-9);
                if (forever > 0.0) {
                    x.mode = kLazy;
                    x.margin = forever;
                    x.pending = kNever;
                    due[i] = kNever;
                    count_swept(i, true, false);
                    continue;
                }
            }
            const double margin = (room - chord_bound(f, A, E, I)) * (1.0 - 1e-9);
            x.margin = margin;
            x.pending = w_end;
            due[i] = w_end;
            reached[n] = i;
            n += margin > 0.0 ? 0 : 1;
        }
        for (std::uint32_t j = 0; j < n; ++j) predict(engine, reached[j], t, d);
    }
}

void LifExpPopulation::on_event(EngineHooks& engine, const Event& e, std::uint32_t i) {
    assert(e.kind == EventKind::Crossing);
    State& x = n_[i];
    assert(x.pending == e.t);  // own events are moved in place, never left stale
    assert(e.t - t0_ < rebase_ticks_);  // the engine rebases at every multiple of rebase_period()
    x.pending = kNever;
    switch (x.mode) {
        case kSwept:  // never queued
            assert(false);
            break;
        case kRefractory:
            unclamp(i, e.t);
            predict(engine, i, e.t, decay(kin(i), e.t));
            break;
        case kExact:  // nothing has changed the state since the crossing was predicted
            spike(engine, i, e.t);
            break;
        case kLazy:
            predict(engine, i, e.t, decay(kin(i), e.t));
            break;
    }
}

void LifExpPopulation::deliver(EngineHooks& engine, Tick t, const std::uint32_t* targets, const double* weights,
                               std::size_t n) {
    assert(t - t0_ < rebase_ticks_);
    if (k_.size() == 1) deliver_block<false>(engine, t, targets, weights, n);
    else deliver_block<true>(engine, t, targets, weights, n);
}

template <bool Spread>
void LifExpPopulation::deliver_block(EngineHooks& engine, Tick t, const std::uint32_t* targets,
                                     const double* weights, std::size_t n) {
    // The factors at t of one set of time constants: of the whole block when shared.
    struct Factors {
        double fe, fae, fi, fai;
        Decay now;
    };
    auto factors = [&](const Kinetics& k) {
        const Decay g = growth(k, t);
        return Factors{k.ce * g.e, k.ce * g.m, k.ci * g.i, k.ci * g.m, Decay{1.0 / g.m, 1.0 / g.e, 1.0 / g.i}};
    };
    auto input = [&](std::uint32_t i, double w, const Kinetics& k, const Factors& f) {
        State& x = n_[i];
        if (w > 0.0) {
            x.be += w * f.fe;
            if (x.mode == kRefractory) return;  // V is held; the current flows on
            x.a -= w * f.fae;
            // Until the pending event V rises by at most w K_e(h), h = pending - t, and
            // K_e(h) <= min(h / tau_m, kmax_e) (K_e' <= K_e'(0) = 1/tau_m): the pending
            // event stays valid while margin is left.
            x.margin -= w * std::min(static_cast<double>(x.pending - t) * k.inv_m_slope, k.kmax_e);
            if (x.margin < 0.0 && !((x.mode == kLazy || x.mode == kSwept) && revalidate(i, k, x, f.now, t)))
                predict(engine, i, t, f.now);
        } else {
            x.bi += w * f.fi;
            if (x.mode == kRefractory) return;
            x.a -= w * f.fai;
            // Inhibition lowers V at every later time: the pending crossing can only come
            // later, so it is now a lower bound to look at again when it pops.
            if (x.mode == kExact) x.mode = kLazy;
        }
    };
    if constexpr (Spread) {
        for (std::size_t j = 0; j < n; ++j) input(targets[j], weights[j], k_[targets[j]], factors(k_[targets[j]]));
    } else {
        const Kinetics& k = k_[0];
        const Factors f = factors(k);
        for (std::size_t j = 0; j < n; ++j) input(targets[j], weights[j], k, f);
    }
}

double LifExpPopulation::voltage_with(std::uint32_t i, const Decay& d) const {
    const State& x = n_[i];
    if (x.mode == kRefractory) return lv_.reset(i);  // held at reset until the own event ends it
    return lv_.rest(i) + x.a * d.m + x.be * d.e + x.bi * d.i;
}

double LifExpPopulation::voltage_mV(std::uint32_t i, Tick t) const {
    if (n_[i].mode == kRefractory) return lv_.reset(i);  // (no exp for it)
    return voltage_with(i, decay(kin(i), t));
}

void LifExpPopulation::observe_voltages_mV(const std::uint32_t* neurons, const std::uint32_t* pos, std::size_t count,
                                           Tick t, double* out) {
    if (k_.size() != 1) return Population::observe_voltages_mV(neurons, pos, count, t, out);
    const Decay d = decay(k_[0], t);  // every neuron's, with shared time constants
    for (std::size_t j = 0; j < count; ++j) out[pos[j]] = voltage_with(neurons[pos[j]], d);
}

void LifExpPopulation::add_current(EngineHooks& engine, std::uint32_t i, Tick t, double delta_mV) {
    assert(lv_.varied() && t - t0_ < rebase_ticks_);
    lv_.add_current(i, delta_mV);
    State& x = n_[i];
    if (x.mode == kRefractory) return;  // V is held; unclamp starts from the new rest level
    // V stays continuous: its free part A moves by -delta.  The pending event
    // may now be too late (or too early): predict again from here.
    const Decay d = decay(kin(i), t);
    x.a -= delta_mV / d.m;
    predict(engine, i, t, d);
}

double LifExpPopulation::g_e_mV(std::uint32_t i, Tick t) const { return n_[i].be * decay(kin(i), t).e / kin(i).ce; }

double LifExpPopulation::g_i_mV(std::uint32_t i, Tick t) const { return n_[i].bi * decay(kin(i), t).i / kin(i).ci; }

double LifExpPopulation::drift_mV_per_ms(std::uint32_t i, Tick t) const {
    if (n_[i].mode == kRefractory) return 0.0;
    return (-(voltage_mV(i, t) - lv_.rest(i)) + g_e_mV(i, t) + g_i_mV(i, t)) / kin(i).tau_m_ms;
}

double LifExpPopulation::psp_mV(std::uint32_t i, double w, Tick t_in, Tick t_now) const {
    const bool exc = w > 0.0;
    const Tick s = last_spike_[i];
    if (s >= 0 && t_now < clamp_[i]) return 0.0;  // V held at reset now
    // A reset at or after the input (or refractoriness when it came) wipes its part of V;
    // what is left of its current at the end of refractoriness charges V afresh.
    Tick base = t_in;
    if (s >= 0 && (s >= t_in || t_in < clamp_[i])) base = clamp_[i];
    const Kinetics& k = kin(i);
    const double tau = exc ? k.tau_e_ms : k.tau_i_ms;
    const double g_base = w * std::exp(-time_.to_ms(base - t_in) / tau);
    return g_base * kernel(k, exc, time_.to_ms(t_now - base));
}

void LifExpPopulation::save_state(StateWriter& w) const {
    w.section("lif_exp " + name());
    lv_.save_state(w);
    w.value(t0_);
    w.values(n_);
    w.values(clamp_);
    w.values(last_spike_);
}

void LifExpPopulation::load_state(StateReader& r) {
    r.section("lif_exp " + name());
    lv_.load_state(r);
    r.value(t0_);
    r.same_size(n_, "neuron state");
    r.same_size(clamp_, "refractory ends");
    r.same_size(last_spike_, "last spikes");
    for (auto& c : swept_in_chunk_) c.store(0, std::memory_order_relaxed);
    for (std::uint32_t i = 0; i < n_.size(); ++i) {
        due_[i] = n_[i].mode == kSwept ? n_[i].pending : kNever;
        count_swept(i, false, n_[i].mode == kSwept);
    }
}

}  // namespace spikeem
