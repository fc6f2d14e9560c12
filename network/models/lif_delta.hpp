#pragma once
#include <cstdint>
#include <vector>

#include "network/models/levels.hpp"
#include "network/models/registry.hpp"
#include "network/population.hpp"
#include "sim/huge_pages.hpp"

namespace spikeem {

// Leaky integrate-and-fire neuron with voltage-jump (delta) synapses:
//   tau_m dV/dt = -(V - v_rest),   V += w at each input,
// (stored rescaled, see lif_delta.cpp),
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
    const char* model() const override { return ModelTraits<LifDeltaParams>::name; }
    bool is_neuron() const override { return ModelTraits<LifDeltaParams>::neuron; }
    void start(EngineHooks& engine) override;
    void on_event(EngineHooks& engine, const Event& e, std::uint32_t local) override;
    void save_state(StateWriter& w) const override;
    void load_state(StateReader& r) override;
    void prefetch(std::uint32_t local) const override { __builtin_prefetch(&n_[local], 1); }
    void deliver(EngineHooks& engine, Tick t, const std::uint32_t* targets, const double* weights,
                 std::size_t n) override;
    void deliver_one_weight(EngineHooks& engine, Tick t, const std::uint32_t* targets, const double* weights,
                            std::size_t n) override;
    double voltage_mV(std::uint32_t local, Tick t) const override;
    void observe_voltages_mV(const std::uint32_t* neurons, const std::uint32_t* pos, std::size_t count, Tick t,
                             double* out) override;
    double drift_mV_per_ms(std::uint32_t local, Tick t) const override;
    double psp_mV(std::uint32_t local, double w, Tick t_in, Tick t_now) const override;
    void add_current(EngineHooks& engine, std::uint32_t local, Tick t, double delta_mV) override;

    const LifDeltaParams& params() const { return p_; }
    const NeuronLevels& levels() const { return lv_; }
    // Neuron i's membrane time constant (ms): the model's, or its own draw.
    double tau_m_ms(std::uint32_t i) const { return tau_ms(i); }

    // Every 40 tau_m (the shortest, when spread): t0 moves to t, all u are scaled by exp(-(t - t0)/tau_m).
    Tick rebase_period() const override { return rebase_ticks_; }
    void rebase(Tick t) override;
    // The windows (only for neurons that cross on their own).
    Tick sweep_period() const override { return self_crossing_ ? window_ticks_ : kNever; }
    void sweep(EngineHooks& engine, Tick t, std::uint32_t begin, std::uint32_t end) override;

private:
    // Neuron i's membrane: 1 / (tau_m in ticks), its own when tau_m is spread.
    double inv_tau(std::uint32_t i) const { return inv_tau_i_.empty() ? inv_tau_ticks_ : inv_tau_i_[i]; }
    double tau_ms(std::uint32_t i) const { return tau_i_ms_.empty() ? p_.tau_m_ms : tau_i_ms_[i]; }
    double decay(std::uint32_t i, Tick dt) const;   // exp(-dt/tau_m)
    // V of neuron i at t, with f = decay(i, t - t0_).
    double voltage_with(std::uint32_t i, Tick t, double f) const;
    double growth(std::uint32_t i, Tick t) const;   // exp((t - t0)/tau_m)
    Tick window_end(Tick t) const { return (t / window_ticks_ + 1) * window_ticks_; }
    // u at or above this may cross before the window ending at `end`; below it
    // neuron i does not (its threshold line at `end`, a hair lower for rounding).
    double reach(std::uint32_t i, Tick end) const;
    double gap(std::uint32_t i) const { return lv_.th(i) - lv_.rest(i); }  // v_th - v_rest
    // Prefetch: load the targets' states a few synapses ahead (large populations).
    // OneWeight: every weight is weights[0] (shared levels and tau_m only).
    template <bool Varied, bool Prefetch, bool OneWeight = false>
    void deliver_block(EngineHooks& engine, Tick t, const std::uint32_t* targets, const double* weights,
                       std::size_t n);
    // The tick of the neuron's crossing from `now` on if nothing arrives: `now`
    // (or the end of refractoriness) if V is at threshold there, kNever if it
    // cannot cross without input.
    Tick predict_crossing(std::uint32_t i, Tick now) const;
    // The crossing tick of a membrane with this u (below threshold at `from`,
    // crossing on its own), and at least from + 1.
    Tick crossing_after(std::uint32_t i, double u, Tick from) const;
    void spike(EngineHooks& engine, std::uint32_t i, Tick t);
    // Give neuron i an own event if it crosses before the window of `now` ends.
    void consider(EngineHooks& engine, std::uint32_t i, Tick now);
    // Move the own event to `when` if that is earlier.
    void set_pending(EngineHooks& engine, std::uint32_t i, Tick when);

    // Window width: spikes do not depend on it, only the cost (sweeps of all
    // neurons against own events of the neurons about to cross).
    static constexpr double kWindow_ms = 1.0;

    LifDeltaParams p_;
    NeuronLevels lv_;  // rest, threshold, reset, refractoriness: shared or per neuron
    TimeBase time_;
    bool self_crossing_;  // some neuron may fire without input (v_rest > v_th, or a current)
    double inv_tau_ticks_;  // 1 / (tau_m in ticks)
    // With tau_m spread (Population.per_neuron): each neuron's tau_m and its
    // inverse in ticks; empty when shared.  Then the factors exp((t - t0)/tau_m)
    // are per neuron, one exp per input instead of one per delivery block.
    std::vector<double> tau_i_ms_, inv_tau_i_;
    Tick rebase_ticks_, window_ticks_;  // from the shortest tau_m
    // growth(0, end) for the ends of the windows from t0 to t0 + the rebase
    // period: every delivery block of a self-crossing population needs its
    // window end's, and a table read is cheaper than an exp with the same bits.
    // Entry k is window end (end_base_ + k) * window_ticks_.  Built where t0
    // changes (construction, rebase, load_state), never while partitions run,
    // so threads only read it.  Empty when tau_m is spread or the table would
    // be large (a long tau_m against the window): then growth() is called.
    std::vector<double> end_growth_;
    Tick end_base_ = 0;
    void build_end_growth();
    double end_growth(Tick w_end) const {
        const auto k = static_cast<std::size_t>(w_end / window_ticks_ - end_base_);
        return k < end_growth_.size() ? end_growth_[k] : growth(0, w_end);
    }
    // Per neuron, together: a delivery reads both (16 B: four neurons per cache
    // line, and a target's address is a shift).
    struct State {
        double u;          // (V - v_rest) exp((t - t0)/tau_m), constant between inputs
        Tick clamp;        // end of refractoriness (V held at v_reset before it)
    };
    // Reference time of the u's: the last multiple of the rebase period that
    // the engine has reached (rebase()), so events see t - t0 < 40 tau_m.
    Tick t0_ = 0;
    // Above this much neuron state a delivery prefetches its targets' (see deliver()).
    static constexpr std::size_t kPrefetchBytes = std::size_t{512} << 10;
    BigVector<State> n_;  // on huge pages when large: inputs reach it at random
    // Per neuron: the tick of its live Crossing event, kNever if none (read
    // only where a crossing is predicted, so apart from the states).  This and
    // the last spikes are reached at random: on huge pages when large.
    BigVector<Tick> pending_;
    BigVector<Tick> last_spike_;   // -1 before the first
};

}  // namespace spikeem
