#pragma once
#include <atomic>
#include <cstdint>
#include <vector>

#include "network/models/exp_crossing.hpp"
#include "network/models/levels.hpp"
#include "network/models/registry.hpp"
#include "network/population.hpp"
#include "sim/huge_pages.hpp"

namespace spikeem {

// Leaky integrate-and-fire with exponential synaptic currents (LifExpParams):
//   tau_m dV/dt = -(V - v_rest) + g_e + g_i,  g_e, g_i decaying with tau_e, tau_i,
//   an input w > 0 adds w to g_e, w <= 0 adds w to g_i,
//   V >= v_th: spike, V held at v_reset during [t, t + t_ref) while g integrates on.
// Between events V(t) - v_rest = A e^{-(t-t0)/tau_m} + E e^{-(t-t0)/tau_e} + I e^{-(t-t0)/tau_i}
// exactly, with E = g_e tau_e/(tau_e - tau_m) and I likewise (see lif_exp.cpp
// for the rescaled storage).  Threshold crossings are predicted exactly
// (ExpCrossing) and rounded up to the next tick.
//
// The neuron's own event is either the exact crossing ("exact") or a time up to
// which V is known to stay below v_th - margin ("lazy"), with margin >= 0 in mV.
// An excitatory input of weight w can raise V before the pending event by at
// most w min(h/tau_m, kmax_e) (h: time left, kmax_e: the peak of its PSP), so
// it only spends margin.  When the margin runs out, a cheap bound of V over
// the time left (chord_bound: its end values plus a curvature term, one exp)
// first tries to renew it; only when that fails, or the lazy time comes, is
// the crossing looked at again.  Inhibition lowers V at all later times, so the
// pending event stays a valid lower bound (an exact one becomes lazy).
// Refractoriness ends with an own event too.  Close to threshold (m_exact_) the
// exact crossing is computed.  Farther from it, how the lazy time is chosen
// depends on the time constants:
//  - shared by all neurons (bounded_): windows of kBoundWindowTaus of the
//    shortest time constant.  A neuron's margin holds until the end of the
//    current window, where the window sweep bounds V over the next window for
//    every such neuron at once (chord_bound with the window's factors, a few
//    multiplications per neuron, no exp) and keeps threshold minus that bound
//    as the margin.  Only the neurons whose bound reaches threshold are
//    predicted (on cuba_exp about one per spike).  A neuron whose V stays below
//    threshold for good without input (rise_bound) leaves the sweep until an
//    input spends its margin, so a quiet population costs one test per chunk;
//  - per neuron: a lazy level part of the way to threshold (early_crossing),
//    kLazyFraction of the distance kept as margin; a check due after the current
//    window (kWindow_ms) waits for the sweep of its window instead of the event
//    queue, which looks again, a little early (always allowed), from a compact
//    array of due times.
// The spikes do not depend on either choice or on the windows: they decide only
// when the exact crossing is computed.
class LifExpPopulation final : public Population {
public:
    // The rescaled state's reference time moves at multiples of rebase_period(), by the engine.
    Tick rebase_period() const override { return rebase_ticks_; }
    void rebase(Tick t) override;
    // The windows of the lazy checks that are not in the event queue (kSwept) and of the bounds.
    Tick sweep_period() const override { return window_ticks_; }
    void sweep(EngineHooks& engine, Tick t, std::uint32_t begin, std::uint32_t end) override;
    LifExpPopulation(const PopulationSpec& spec, std::uint32_t index, std::uint32_t global_offset,
                     const TimeBase& time, std::uint64_t seed);
    const char* model() const override { return ModelTraits<LifExpParams>::name; }
    bool is_neuron() const override { return ModelTraits<LifExpParams>::neuron; }
    void start(EngineHooks& engine) override;
    void on_event(EngineHooks& engine, const Event& e, std::uint32_t local) override;
    void save_state(StateWriter& w) const override;
    void load_state(StateReader& r) override;
    void deliver(EngineHooks& engine, Tick t, const std::uint32_t* targets, const double* weights,
                 std::size_t n) override;
    double voltage_mV(std::uint32_t local, Tick t) const override;
    void observe_voltages_mV(const std::uint32_t* neurons, const std::uint32_t* pos, std::size_t count, Tick t,
                             double* out) override;
    double drift_mV_per_ms(std::uint32_t local, Tick t) const override;
    double psp_mV(std::uint32_t local, double w, Tick t_in, Tick t_now) const override;
    void add_current(EngineHooks& engine, std::uint32_t local, Tick t, double delta_mV) override;

    const LifExpParams& params() const { return p_; }
    const NeuronLevels& levels() const { return lv_; }
    // Neuron i's time constants (ms): the model's, or its own draws.
    double tau_m_ms(std::uint32_t i) const { return kin(i).tau_m_ms; }
    double tau_e_ms(std::uint32_t i) const { return kin(i).tau_e_ms; }
    double tau_i_ms(std::uint32_t i) const { return kin(i).tau_i_ms; }
    // Synaptic currents at t (mV), read-only.
    double g_e_mV(std::uint32_t local, Tick t) const;
    double g_i_mV(std::uint32_t local, Tick t) const;

private:
    // kLazy, kExact, kRefractory: the own event is in the event queue at `pending`
    // (kLazy: unless pending is kNever).  kSwept: lazy, with no event in the queue;
    // the sweep of the window holding `pending` looks again (with window bounds,
    // `pending` is always the start of the next window).
    enum Mode : std::uint8_t { kLazy = 0, kExact = 1, kRefractory = 2, kSwept = 3 };
    static constexpr double kLazyFraction = 0.35;  // of the distance to threshold, kept as margin
    // With per-neuron time constants, the window width: a cost trade-off only (a sweep
    // of due_ per window against a queue operation per lazy check); spikes do not
    // depend on it.
    static constexpr double kWindow_ms = 1.0;
    // With shared time constants: the window in shortest time constants.  A cost
    // trade-off too (the chord bound loosens as h^2, and each window bounds every
    // neuron once); on cuba_exp 0.4 / 0.6 / 0.8 gave 0.223 / 0.209 / 0.208 s.
    static constexpr double kBoundWindowTaus = 0.6;
    Tick window_end(Tick t) const { return (t / window_ticks_ + 1) * window_ticks_; }
    struct Decay {
        double m, e, i;  // e^{-(t - t0)/tau} for tau_m, tau_e, tau_i
    };
    // The time constants of one neuron and what follows from them (all neurons
    // share one unless tau_m_ms, tau_e_ms or tau_i_ms is spread).
    struct Kinetics {
        ExpCrossing roots;
        double tau_m_ms, tau_e_ms, tau_i_ms;
        double ce, ci;              // tau_e/(tau_e - tau_m), tau_i/(tau_i - tau_m)
        double kmax_e;              // max over s of the V response to a unit jump of g_e
        double inv_m_slope;         // its largest slope, 1/tau_m (per tick), a hair larger
        double inv_m, inv_e, inv_i; // 1 / tau in ticks
        int ne, ni;                 // tau_m/tau_e, tau_m/tau_i when integers (powers instead of exps), else 0
        Tick horizon_ticks;
    };
    Kinetics kinetics(double tau_m_ms, double tau_e_ms, double tau_i_ms) const;
    const Kinetics& kin(std::uint32_t i) const { return k_.size() == 1 ? k_[0] : k_[i]; }
    Decay decay(const Kinetics& k, Tick t) const;   // at t (t0 <= t)
    Decay growth(const Kinetics& k, Tick t) const;  // 1 / decay(t)
    double voltage_with(std::uint32_t i, const Decay& d) const;  // V of neuron i at t, d = decay(kin(i), t)
    // deliver() for shared (Spread = false) or per-neuron time constants.
    template <bool Spread>
    void deliver_block(EngineHooks& engine, Tick t, const std::uint32_t* targets, const double* weights,
                       std::size_t n);
    void unclamp(std::uint32_t i, Tick t);
    // Look at the crossing again from the state at t (d = decay(t)); may spike at t.
    void predict(EngineHooks& engine, std::uint32_t i, Tick t, const Decay& d);
    struct State;
    bool revalidate(std::uint32_t i, const Kinetics& k, State& x, const Decay& d, Tick t) const;
    ChordFactors bound_factors(const Kinetics& k, double h_ticks) const;  // (one exp)
    template <bool VariedLevels>
    void bound_window(EngineHooks& engine, Tick t, std::uint32_t begin, std::uint32_t end);
    void spike(EngineHooks& engine, std::uint32_t i, Tick t);
    double kernel(const Kinetics& k, bool excitatory, double s_ms) const;  // V response (mV) to a unit jump of g

    LifExpParams p_;
    NeuronLevels lv_;  // rest, threshold, reset, refractoriness: shared or per neuron
    TimeBase time_;
    std::vector<Kinetics> k_;   // one for all neurons, or one per neuron (kin())
    double m_exact_;            // below this distance to threshold, predict the exact crossing
    Tick rebase_ticks_;         // 30 times the shortest time constant
    // bounded_: kBoundWindowTaus of the shortest time constant; else kWindow_ms, at most 20 of it.
    Tick window_ticks_;
    // Shared time constants: a neuron far from threshold is bounded window by window
    // (chord bounds with shared factors at each sweep) instead of lazy levels, which
    // per-neuron time constants keep (their factors would cost exps per neuron).
    bool bounded_;
    Tick t0_ = 0;
    // Per neuron, together (one cache line for a delivery).
    struct State {
        double a, be, bi;  // A, E, I rescaled: A e^{(t-t0)/tau_m} etc., constant between inputs
        double margin;     // mV: V stays <= v_th - margin until `pending` (lazy); 0 when exact
        Tick pending;      // tick of the own event, kNever if none
        Mode mode;
    };
    BigVector<State> n_;  // on huge pages when large: inputs reach it at random
    std::vector<Tick> clamp_, last_spike_;  // end of the last refractory period; last spike (-1: none)
    // `pending` of the kSwept neurons, kNever for the others: what a sweep reads
    // (8 bytes per neuron instead of a State), derived from n_.
    std::vector<Tick> due_;
    // kSwept neurons per chunk of kChunk neurons: the sweep skips chunks without any
    // (a silent population costs one test per chunk, not per neuron).  Atomic because
    // a chunk may straddle two partitions; each partition's own changes are counted
    // before its sweep reads the count, so a chunk it has a kSwept neuron in is never
    // skipped, and skipping or not changes nothing else.
    static constexpr std::uint32_t kChunk = 64;
    std::vector<std::atomic<std::uint32_t>> swept_in_chunk_;
    void count_swept(std::uint32_t i, bool was, bool now) {
        if (was != now) {
            if (now) swept_in_chunk_[i / kChunk].fetch_add(1, std::memory_order_relaxed);
            else swept_in_chunk_[i / kChunk].fetch_sub(1, std::memory_order_relaxed);
        }
    }
};

}  // namespace spikeem
