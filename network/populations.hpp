#pragma once
// Runtime populations: neuron models and spike sources.
//
// A population owns the state of its neurons and advances it exactly from one
// event to the next.  It talks to the engine only through EngineHooks: to
// schedule its own future events and to announce a spike (the engine then
// records it and schedules deliveries along outgoing projections).
//
// Partition safety (Simulation with several partitions, see simulation.hpp).
// The engine may split a population's neurons among partitions that run on
// different threads at the same time.  A population is partition-safe when:
//   - every call about neuron i (on_event, the targets of deliver, the
//     voltage and rate read-outs, set_drive / set_rate) reads and writes only
//     neuron i's own state and immutable parameters: no member shared by
//     several neurons is written by them (no population-wide counters or
//     caches; a shared reference time is moved by rebase() only, below);
//   - the arithmetic on neuron i depends only on neuron i's own sequence of
//     events (never on when other neurons had theirs), so that results are
//     bit-identical for any partitioning; a shared reference time is moved
//     only by rebase(), at instants fixed by time alone;
//   - everything it schedules goes through the EngineHooks it was handed in
//     that call (the partition owning the neuron), with Event.src = the
//     neuron's global index, and never before the event being handled;
//   - randomness comes from per-neuron streams (sim/random.hpp).
// deliver() is then given only targets of the calling partition.  start() is
// called once, single-threaded, with hooks that route by neuron.
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "network/exp_crossing.hpp"
#include "network/spec.hpp"
#include "sim/event_queue.hpp"
#include "sim/random.hpp"
#include "sim/time.hpp"

namespace spikeem {

class EngineHooks {
public:
    virtual void schedule(const Event& e) = 0;
    // Set or move the one own event (a Crossing) of neuron `global`; see OwnEvents.
    virtual void schedule_own(std::uint32_t global, Tick t) = 0;
    virtual void emit_spike(std::uint32_t population, std::uint32_t neuron, Tick t) = 0;

protected:
    ~EngineHooks() = default;
};

class Population {
public:
    Population(std::string name, std::uint32_t size, std::uint32_t index, std::uint32_t global_offset)
        : name_(std::move(name)), size_(size), index_(index), offset_(global_offset) {}
    virtual ~Population() = default;

    const std::string& name() const { return name_; }
    std::uint32_t size() const { return size_; }
    std::uint32_t index() const { return index_; }
    std::uint32_t global_offset() const { return offset_; }
    virtual const char* model() const = 0;
    // Can this population receive synaptic input / be sampled for a voltage?
    virtual bool is_neuron() const = 0;

    // Schedule whatever the population needs at t = 0.
    virtual void start(EngineHooks& engine) = 0;
    // A SourceFire or Crossing event for neuron `local`.
    virtual void on_event(EngineHooks& engine, const Event& e, std::uint32_t local) = 0;
    // A block of synapses of one spike arrives at time t: targets[k] gets weight[k].
    virtual void deliver(EngineHooks& engine, Tick t, const std::uint32_t* targets, const double* weights,
                         std::size_t n) {
        (void)engine, (void)t, (void)targets, (void)weights, (void)n;
    }
    // Membrane potential at time t >= the last event applied; read-only, so
    // recording never perturbs the dynamics (not even its rounding).
    virtual double voltage_mV(std::uint32_t local, Tick t) const {
        (void)local, (void)t;
        return 0.0;
    }

    // ---- what voltage-based plasticity and rate read-outs ask of a neuron

    // V at time t (>= the last event applied), advancing the neuron to t when
    // its state between events is random (noise): then the draw is part of the
    // realisation.  Without noise this is voltage_mV.
    virtual double observe_voltage_mV(std::uint32_t local, Tick t) { return voltage_mV(local, t); }
    // The deterministic part of dV/dt (mV/ms) at t, inputs at t excluded.
    virtual double drift_mV_per_ms(std::uint32_t local, Tick t) const {
        (void)local, (void)t;
        return 0.0;
    }
    // What one input of weight w delivered at t_in still contributes to V at
    // t_now >= t_in, given the neuron's resets since (a reset removes it).
    virtual double psp_mV(std::uint32_t local, double w, Tick t_in, Tick t_now) const {
        (void)local, (void)w, (void)t_in, (void)t_now;
        return 0.0;
    }
    // The model's own firing rate rho(V(t)) in Hz, for neurons that have one
    // (advancing like observe_voltage_mV); NaN otherwise.
    virtual double model_rate_hz(std::uint32_t local, Tick t) {
        (void)local, (void)t;
        return std::numeric_limits<double>::quiet_NaN();
    }

    // ---- bulk checks (optional)

    // A population may look at all of its neurons at every multiple of
    // sweep_period() (ticks; kNever: never), e.g. to find those that will
    // cross threshold on their own before the next multiple.  The engine calls
    // sweep(engine, t, begin, end) at every multiple t >= 0 with the neurons
    // [begin, end) of one partition, after the deliveries at t and before the
    // own events at t.  It obeys the partition-safety contract above for those
    // neurons (its instants depend on time alone).
    virtual Tick sweep_period() const { return kNever; }
    virtual void sweep(EngineHooks& engine, Tick t, std::uint32_t begin, std::uint32_t end) {
        (void)engine, (void)t, (void)begin, (void)end;
    }

    // ---- state kept relative to a shared reference time (optional)

    // A population whose neurons' state is stored relative to one reference
    // time (LifDeltaPopulation's rescaled membrane) returns the period at
    // which that reference must move, and the engine calls rebase(t) at every
    // multiple t of it: after every event before t, before any event at or
    // after t, and with nothing else running (between epochs of a partitioned
    // run).  The instants being a pure function of time, a neuron's arithmetic
    // does not depend on the partitioning.  kNever: no rebasing.
    virtual Tick rebase_period() const { return kNever; }
    virtual void rebase(Tick t) { (void)t; }

protected:
    Event make_event(Tick t, EventKind kind, std::uint32_t local) const {
        return Event{t, offset_ + local, 0, 0, kind};
    }

private:
    std::string name_;
    std::uint32_t size_, index_, offset_;
};

// Leaky integrate-and-fire neuron with voltage-jump (delta) synapses:
//   tau_m dV/dt = -(V - v_rest),   V += w at each input,
// (stored rescaled, see populations.cpp),
//   V >= v_th: spike, V = v_reset, inputs ignored during [t_spike, t_spike + t_ref).
// Between events V(t) = v_rest + (V0 - v_rest) exp(-(t - t0)/tau_m), exactly.
// With v_rest <= v_th a neuron can only cross at an input.  With v_rest > v_th it
// also crosses on its own, at t0 + tau_m ln((V0 - v_rest)/(v_th - v_rest)),
// rounded up to the next tick.  Such crossings are found in windows of
// kWindow_ms: at the start of each window a sweep (one comparison per neuron)
// gives an own event, at the crossing tick, to every neuron that crosses
// before the window ends unless an input comes first; an excitatory input
// that brings the crossing into the window does the same.  Inhibition moves
// a crossing later: its own event pops, finds the neuron below threshold and
// predicts again (or leaves it to the next sweep).  Most neurons are far from
// crossing within a window, so most inputs and most windows cost one
// comparison, no logarithm and no queue operation; the spike is always at the
// crossing tick, whatever the window.
class LifDeltaPopulation final : public Population {
public:
    LifDeltaPopulation(const PopulationSpec& spec, std::uint32_t index, std::uint32_t global_offset,
                       const TimeBase& time, std::uint64_t seed);
    const char* model() const override { return "lif_delta"; }
    bool is_neuron() const override { return true; }
    void start(EngineHooks& engine) override;
    void on_event(EngineHooks& engine, const Event& e, std::uint32_t local) override;
    void deliver(EngineHooks& engine, Tick t, const std::uint32_t* targets, const double* weights,
                 std::size_t n) override;
    double voltage_mV(std::uint32_t local, Tick t) const override;
    double drift_mV_per_ms(std::uint32_t local, Tick t) const override;
    double psp_mV(std::uint32_t local, double w, Tick t_in, Tick t_now) const override;

    const LifDeltaParams& params() const { return p_; }

    // Every 40 tau_m: t0 moves to t, all u are scaled by exp(-(t - t0)/tau_m).
    Tick rebase_period() const override { return rebase_ticks_; }
    void rebase(Tick t) override;
    // The windows (only for neurons that cross on their own).
    Tick sweep_period() const override { return self_crossing_ ? window_ticks_ : kNever; }
    void sweep(EngineHooks& engine, Tick t, std::uint32_t begin, std::uint32_t end) override;

private:
    double decay(Tick dt) const;
    double growth(Tick t) const;  // exp((t - t0)/tau_m)
    Tick window_end(Tick t) const { return (t / window_ticks_ + 1) * window_ticks_; }
    // u at or above this may cross before the window ending at `end`; below it
    // no neuron does (the threshold line at `end`, a hair lower for rounding).
    double reach(Tick end) const;
    // The tick of the neuron's crossing from `now` on if nothing arrives: `now`
    // (or the end of refractoriness) if V is at threshold there, kNever if it
    // cannot cross without input.
    Tick predict_crossing(std::uint32_t i, Tick now) const;
    // The crossing tick of a membrane with this u (below threshold at `from`,
    // crossing on its own), and at least from + 1.
    Tick crossing_after(double u, Tick from) const;
    void spike(EngineHooks& engine, std::uint32_t i, Tick t);
    // Give neuron i an own event if it crosses before the window of `now` ends.
    void consider(EngineHooks& engine, std::uint32_t i, Tick now);
    // Move the own event to `when` if that is earlier.
    void set_pending(EngineHooks& engine, std::uint32_t i, Tick when);

    // Window width: spikes do not depend on it, only the cost (sweeps of all
    // neurons against own events of the neurons about to cross).
    static constexpr double kWindow_ms = 1.0;

    LifDeltaParams p_;
    TimeBase time_;
    Tick t_ref_ticks_, rebase_ticks_, window_ticks_;
    bool self_crossing_;  // v_rest > v_th: fires without input
    double inv_tau_ticks_;  // 1 / (tau_m in ticks)
    // Per neuron, together: a delivery touches all of it (one cache line).
    struct State {
        double u;          // (V - v_rest) exp((t - t0)/tau_m), constant between inputs
        Tick clamp;        // end of refractoriness (V held at v_reset before it)
        Tick pending;      // tick of the live Crossing event, kNever if none
    };
    // Reference time of the u's: the last multiple of the rebase period that
    // the engine has reached (rebase()), so events see t - t0 < 40 tau_m.
    Tick t0_ = 0;
    std::vector<State> n_;
    std::vector<Tick> last_spike_;   // -1 before the first
};

// Leaky integrate-and-fire with exponential synaptic currents (LifExpParams):
//   tau_m dV/dt = -(V - v_rest) + g_e + g_i,  g_e, g_i decaying with tau_e, tau_i,
//   an input w > 0 adds w to g_e, w <= 0 adds w to g_i,
//   V >= v_th: spike, V held at v_reset during [t, t + t_ref) while g integrates on.
// Between events V(t) - v_rest = A e^{-(t-t0)/tau_m} + E e^{-(t-t0)/tau_e} + I e^{-(t-t0)/tau_i}
// exactly, with E = g_e tau_e/(tau_e - tau_m) and I likewise (see populations.cpp
// for the rescaled storage).  Threshold crossings are predicted exactly
// (ExpCrossing) and rounded up to the next tick.
//
// The neuron's own event is either the exact crossing ("exact") or a time up to
// which V is known to stay below v_th - margin ("lazy"), with margin >= 0 in mV.
// An excitatory input of weight w can raise V before the pending event by at
// most w min(h/tau_m, kmax_e) (h: time left, kmax_e: the peak of its PSP), so
// it only spends margin.  When the margin runs out, a cheap bound of V over
// the time left (its end values plus the curvature term, one exp) first tries
// to renew it; only when that fails, or the lazy event comes due, is the
// crossing looked at again.  Inhibition lowers V at all later times, so the
// pending event stays a valid lower bound (an exact one becomes lazy).
// Refractoriness ends with an own event too.  The spikes do not depend on the
// laziness: it decides only when the exact crossing is computed.
class LifExpPopulation final : public Population {
public:
    // The rescaled state's reference time moves at multiples of rebase_period(), by the engine.
    Tick rebase_period() const override { return rebase_ticks_; }
    void rebase(Tick t) override;
    LifExpPopulation(const PopulationSpec& spec, std::uint32_t index, std::uint32_t global_offset,
                     const TimeBase& time, std::uint64_t seed);
    const char* model() const override { return "lif_exp"; }
    bool is_neuron() const override { return true; }
    void start(EngineHooks& engine) override;
    void on_event(EngineHooks& engine, const Event& e, std::uint32_t local) override;
    void deliver(EngineHooks& engine, Tick t, const std::uint32_t* targets, const double* weights,
                 std::size_t n) override;
    double voltage_mV(std::uint32_t local, Tick t) const override;
    double drift_mV_per_ms(std::uint32_t local, Tick t) const override;
    double psp_mV(std::uint32_t local, double w, Tick t_in, Tick t_now) const override;

    const LifExpParams& params() const { return p_; }
    // Synaptic currents at t (mV), read-only.
    double g_e_mV(std::uint32_t local, Tick t) const;
    double g_i_mV(std::uint32_t local, Tick t) const;

private:
    enum Mode : std::uint8_t { kLazy = 0, kExact = 1, kRefractory = 2 };
    static constexpr double kLazyFraction = 0.35;  // of the distance to threshold, kept as margin
    struct Decay {
        double m, e, i;  // e^{-(t - t0)/tau} for tau_m, tau_e, tau_i
    };
    Decay decay(Tick t) const;   // at t (t0 <= t)
    Decay growth(Tick t) const;  // 1 / decay(t)
    void unclamp(std::uint32_t i, Tick t);
    // Look at the crossing again from the state at t (d = decay(t)); may spike at t.
    void predict(EngineHooks& engine, std::uint32_t i, Tick t, const Decay& d);
    struct State;
    bool revalidate(State& x, const Decay& d, Tick t) const;
    double chord_bound(double A, double E, double I, double h_ticks) const;
    void spike(EngineHooks& engine, std::uint32_t i, Tick t);
    double kernel(bool excitatory, double s_ms) const;  // V response (mV) to a unit jump of g

    LifExpParams p_;
    TimeBase time_;
    ExpCrossing roots_;
    double ce_, ci_;            // tau_e/(tau_e - tau_m), tau_i/(tau_i - tau_m)
    double kmax_e_;             // max over s of the V response to a unit jump of g_e
    double inv_m_slope_;        // its largest slope, 1/tau_m (per tick), a hair larger
    double m_exact_;            // below this distance to threshold, predict the exact crossing
    double inv_m_, inv_e_, inv_i_;  // 1 / tau in ticks
    int ne_, ni_;               // tau_m/tau_e, tau_m/tau_i when integers (powers instead of exps), else 0
    Tick t_ref_ticks_, rebase_ticks_, horizon_ticks_;
    Tick t0_ = 0;
    // Per neuron, together (one cache line for a delivery).
    struct State {
        double a, be, bi;  // A, E, I rescaled: A e^{(t-t0)/tau_m} etc., constant between inputs
        double margin;     // mV: V stays <= v_th - margin until `pending` (lazy); 0 when exact
        Tick pending;      // tick of the own event, kNever if none
        Mode mode;
    };
    std::vector<State> n_;
    std::vector<Tick> clamp_, last_spike_;  // end of the last refractory period; last spike (-1: none)
};

// The stochastic rate neuron of StochasticParams.  Between events V (and the
// synaptic current I) follow their linear dynamics exactly; with noise the OU
// increment over each interval is drawn exactly.  Spikes are drawn exactly by
// thinning: candidate times come from a Poisson process whose rate B bounds
// rho(V) until the next change (without noise: rho of an upper bound of V over
// a horizon of tau_m; with noise: rho_max), and a candidate at t is accepted
// with probability rho(V(t)) / B.  An excitatory input raises the bound, so
// the pending candidate is redrawn (the memoryless property makes this exact);
// an inhibitory one cannot raise it and leaves the candidate standing.
class StochasticPopulation final : public Population {
public:
    StochasticPopulation(const PopulationSpec& spec, std::uint32_t index, std::uint32_t global_offset,
                         const TimeBase& time, std::uint64_t seed);
    const char* model() const override { return "stochastic"; }
    bool is_neuron() const override { return true; }
    void start(EngineHooks& engine) override;
    void on_event(EngineHooks& engine, const Event& e, std::uint32_t local) override;
    void deliver(EngineHooks& engine, Tick t, const std::uint32_t* targets, const double* weights,
                 std::size_t n) override;
    double voltage_mV(std::uint32_t local, Tick t) const override;
    double observe_voltage_mV(std::uint32_t local, Tick t) override;
    double drift_mV_per_ms(std::uint32_t local, Tick t) const override;
    double psp_mV(std::uint32_t local, double w, Tick t_in, Tick t_now) const override;
    double model_rate_hz(std::uint32_t local, Tick t) override;

    const StochasticParams& params() const { return p_; }
    double rho_hz(double v_mV) const;
    // Change the drive of neuron n at time t (>= its last event): exact, the
    // pending spike candidate is redrawn against the new bound.
    void set_drive(EngineHooks& engine, std::uint32_t n, Tick t, double drive_mV);
    double drive_mV(std::uint32_t n) const { return drive_[n]; }

private:
    struct State {
        double v, i;
    };
    double mu(std::uint32_t n, Tick t) const;            // leak target of neuron n at t (mV)
    State evolve(std::uint32_t n, Tick t) const;         // deterministic part, from the stored state
    void advance(std::uint32_t n, Tick t);               // store the state at t (drawing noise)
    double rate_bound_hz(std::uint32_t n) const;         // bound of rho over [t_last, t_last + horizon]
    void schedule_candidate(EngineHooks& engine, std::uint32_t n);

    StochasticParams p_;
    TimeBase time_;
    Tick t_ref_ticks_, horizon_ticks_;
    std::vector<double> v_, i_;
    std::vector<double> drive_;     // per neuron: the spec's drive until set_drive
    std::vector<Tick> t_last_;      // time of the stored state
    std::vector<Tick> pending_;     // tick of the live candidate event
    std::vector<double> bound_hz_;  // the bound the pending candidate was drawn with
    std::vector<std::uint8_t> refresh_;  // the pending event only renews the bound (horizon reached)
    std::vector<Tick> ref_until_, last_reset_;
    std::vector<RandomStream> rng_;
};

// Independent Poisson spike trains, rate_hz in [start_ms, stop_ms).  Intervals
// are drawn exactly (exponential, in double ms) and only the emission time is
// rounded to the tick, so rounding never accumulates.
class PoissonPopulation final : public Population {
public:
    PoissonPopulation(const PopulationSpec& spec, std::uint32_t index, std::uint32_t global_offset,
                      const TimeBase& time, std::uint64_t seed);
    const char* model() const override { return "poisson"; }
    bool is_neuron() const override { return false; }
    void start(EngineHooks& engine) override;
    void on_event(EngineHooks& engine, const Event& e, std::uint32_t local) override;
    // Change the (constant) rate of neuron i from time t on: the pending spike
    // is replaced by one drawn from t (exact: the process is memoryless).
    // Not for sources with a rate slope.
    void set_rate(EngineHooks& engine, std::uint32_t i, Tick t, double rate_hz);

private:
    void schedule_next(EngineHooks& engine, std::uint32_t i);
    PoissonParams p_;
    TimeBase time_;
    std::vector<double> mean_isi_ms_;  // per neuron; 0 for a silent neuron
    std::vector<RandomStream> rng_;
    std::vector<double> next_ms_;
    std::vector<Tick> pending_;  // tick of the live SourceFire event, kNever if none
};

// Each neuron emits at a given list of times (rounded to the tick).
class SpikeTimesPopulation final : public Population {
public:
    SpikeTimesPopulation(const PopulationSpec& spec, std::uint32_t index, std::uint32_t global_offset,
                         const TimeBase& time);
    const char* model() const override { return "spike_times"; }
    bool is_neuron() const override { return false; }
    void start(EngineHooks& engine) override;
    void on_event(EngineHooks& engine, const Event& e, std::uint32_t local) override;

private:
    std::vector<std::vector<Tick>> times_;
    std::vector<std::size_t> next_;
};

std::unique_ptr<Population> make_population(const PopulationSpec& spec, std::uint32_t index,
                                            std::uint32_t global_offset, const TimeBase& time, std::uint64_t seed);

// Draw one value of a distribution.
double draw(const Distribution& d, RandomStream& rng);

}  // namespace spikeem
