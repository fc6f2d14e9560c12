#pragma once
// The population interface: what the engine asks of a neuron model or a
// spike source (one file per model in network/models/, one registry).
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
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "network/spec.hpp"
#include "plasticity/membrane.hpp"
#include "sim/event_queue.hpp"
#include "sim/random.hpp"
#include "sim/state.hpp"
#include "sim/time.hpp"

namespace spikeem {

class EngineHooks {
public:
    virtual void schedule(const Event& e) = 0;
    // Set or move the one own event (a Crossing) of neuron `global`; see OwnEvents.
    virtual void schedule_own(std::uint32_t global, Tick t) = 0;
    virtual void emit_spike(std::uint32_t population, std::uint32_t neuron, Tick t) = 0;
    // exp(x), bit for bit, keeping the last argument and result: the blocks of
    // one spike reach its target populations at one instant, one after the
    // other, and populations with the same time constant need the same factor
    // exp((t - t0)/tau).  Each partition has its own, so threads never share it.
    double exp_memo(double x) {
        if (x != memo_x_) {  // (NaN, the first argument, never equals)
            memo_x_ = x;
            memo_y_ = std::exp(x);
        }
        return memo_y_;
    }

protected:
    ~EngineHooks() = default;

private:
    double memo_x_ = std::numeric_limits<double>::quiet_NaN();
    double memo_y_ = 0.0;
};

class Population : public Membrane {
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
    // A hint: an event for neuron `local` (an input or its own) is next.  May
    // start loading its state into the cache; never changes anything else.
    virtual void prefetch(std::uint32_t local) const { (void)local; }
    // A block of synapses of one spike arrives at time t: targets[k] gets weight[k].
    virtual void deliver(EngineHooks& engine, Tick t, const std::uint32_t* targets, const double* weights,
                         std::size_t n) {
        (void)engine, (void)t, (void)targets, (void)weights, (void)n;
    }
    // The same, for a block whose weights all equal weights[0] (a projection with
    // one weight): a model may take the weight out of its loop.
    virtual void deliver_one_weight(EngineHooks& engine, Tick t, const std::uint32_t* targets,
                                    const double* weights, std::size_t n) {
        deliver(engine, t, targets, weights, n);
    }
    // Membrane potential at time t >= the last event applied; read-only, so
    // recording never perturbs the dynamics (not even its rounding).
    virtual double voltage_mV(std::uint32_t local, Tick t) const {
        (void)local, (void)t;
        return 0.0;
    }

    // A current of delta_mV (R I, see CurrentInputSpec) starts to flow into
    // neuron `local` at t (a negative delta: one stops), on top of what
    // flows already.  Only models for which model_takes_current() holds
    // (network/models/registry.hpp) implement it, and only when built with
    // PopulationSpec::takes_current.
    virtual void add_current(EngineHooks& engine, std::uint32_t local, Tick t, double delta_mV) {
        (void)engine, (void)local, (void)t, (void)delta_mV;
    }

    // ---- what voltage-based plasticity and rate read-outs ask of a neuron

    // V at time t (>= the last event applied), advancing the neuron to t when
    // its state between events is random (noise): then the draw is part of the
    // realisation.  Without noise this is voltage_mV.
    virtual double observe_voltage_mV(std::uint32_t local, Tick t) { return voltage_mV(local, t); }
    // observe_voltage_mV of several neurons at one time t: out[pos[j]] for
    // neurons[pos[j]], j < count (a voltage probe's sample).  The same values
    // as one call each; a model shares what one time has in common (a decay
    // factor) instead of computing it per neuron.
    virtual void observe_voltages_mV(const std::uint32_t* neurons, const std::uint32_t* pos, std::size_t count,
                                     Tick t, double* out) {
        for (std::size_t j = 0; j < count; ++j) out[pos[j]] = observe_voltage_mV(neurons[pos[j]], t);
    }
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

    // ---- checkpoints
    // Write everything running has changed since the population was built
    // (neuron state, random streams, levels moved by currents), and read it
    // back into a population built from the same spec: the population then
    // continues exactly as the one that wrote it would have.  Events it had
    // scheduled are saved by the engine, not here.
    virtual void save_state(StateWriter& w) const = 0;
    virtual void load_state(StateReader& r) = 0;

protected:
    Event make_event(Tick t, EventKind kind, std::uint32_t local) const {
        return Event{t, offset_ + local, 0, 0, kind};
    }

private:
    std::string name_;
    std::uint32_t size_, index_, offset_;
};


// Draw one value of a distribution.
double draw(const Distribution& d, RandomStream& rng);

}  // namespace spikeem
