#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "network/models/levels.hpp"
#include "network/models/registry.hpp"
#include "network/population.hpp"

namespace spikeem {

// Leaky integrate-and-fire with exponential synaptic conductances (LifCondExpParams):
//   tau_m dV/dt = -(V - v_rest) - g_e (V - e_e) - g_i (V - e_i),  g in units of g_leak,
//   g_e, g_i decaying exactly with tau_e, tau_i; an input w > 0 (nS) adds w / g_leak
//   to g_e, w < 0 adds |w| / g_leak to g_i;
//   V >= v_th: spike, V held at v_reset during [t, t + t_ref) while g integrates on.
//
// How exact (docs/models.md, "lif_cond_exp", has the derivation and the measured errors).
// The conductances are exact exponentials.  V solves a linear ODE with time-varying
// coefficients, which has a closed form (incomplete gamma functions) only when
// tau_e = tau_i; in general it has none.  V is integrated by a Taylor series of
// degree kOrder about the last event, its coefficients by the exact recurrence of
// the ODE (the conductances' Taylor coefficients are known in closed form, so the
// series is the one of the exact solution, truncated).  The step is chosen so that
// the last two terms are below kTolerance (relative to the voltage scale): per step
// |V - V_exact| is about that small, and the polynomial is V on the whole step (a
// dense output), which is what makes the crossing search exact to the polynomial.
//
// Each neuron keeps its current step: the polynomial on [t0, t0 + h] (h >= 1 tick).
// An input at t in the step evaluates V(t) (Horner), adds the jump, and starts a new
// step at t; the neuron's own event is the first tick at or after the polynomial's
// first crossing of v_th in the step ("exact"), or, with none, the step's end
// ("lazy": a new step from there).  The first crossing is found by bisection with a
// curvature (chord) bound that excludes intervals without a root, so a crossing that
// comes and goes within a step is not missed, then refined by safeguarded Newton to
// double precision; the spike is at the next tick.  No state is shared between
// neurons and no reference time moves: nothing to rebase.
class LifCondExpPopulation final : public Population {
public:
    static constexpr int kOrder = 16;            // degree of the Taylor polynomial
    static constexpr double kTolerance = 1e-13;  // per-step truncation target, times the voltage scale

    LifCondExpPopulation(const PopulationSpec& spec, std::uint32_t index, std::uint32_t global_offset,
                         const TimeBase& time, std::uint64_t seed);
    const char* model() const override { return ModelTraits<LifCondExpParams>::name; }
    bool is_neuron() const override { return ModelTraits<LifCondExpParams>::neuron; }
    void start(EngineHooks& engine) override;
    void on_event(EngineHooks& engine, const Event& e, std::uint32_t local) override;
    void save_state(StateWriter& w) const override;
    void load_state(StateReader& r) override;
    void deliver(EngineHooks& engine, Tick t, const std::uint32_t* targets, const double* weights,
                 std::size_t n) override;
    double voltage_mV(std::uint32_t local, Tick t) const override;
    double drift_mV_per_ms(std::uint32_t local, Tick t) const override;
    void add_current(EngineHooks& engine, std::uint32_t local, Tick t, double delta_mV) override;

    const LifCondExpParams& params() const { return p_; }
    const NeuronLevels& levels() const { return lv_; }
    // Neuron i's membrane time constant (ms): the model's, or its own draw (to rounding).
    double tau_m_ms(std::uint32_t i) const { return 1.0 / kin(i).inv_tau_m; }
    // Conductances at t (nS), read-only; t >= the last event applied.
    double g_e_nS(std::uint32_t local, Tick t) const;
    double g_i_nS(std::uint32_t local, Tick t) const;

private:
    enum Mode : std::uint8_t { kLazy = 0, kExact = 1, kRefractory = 2 };
    using Poly = std::array<double, kOrder + 1>;
    // Per neuron.  Outside refractoriness V(t0 + theta h) = sum_n c[n] theta^n for
    // theta in [0, 1]; ge, gi are the conductances at t0 (units of g_leak).  During
    // refractoriness only ge, gi (at t0) count, and V is v_reset.
    struct State {
        Poly c;
        double ge, gi;
        Tick t0, h;
        Tick pending;  // tick of the own event, kNever if none
        Tick clamp;    // end of the refractory period
        Mode mode;
    };

    // The step from t with V, ge, gi and rest level v_rest: coefficients, length (ticks), t0 = t.
    // The membrane and synapse constants of one neuron (all neurons share one unless spread).
    struct Kinetics {
        double inv_tau_m, inv_tau_e, inv_tau_i;  // 1/ms
        double inv_g_leak, g_leak_nS;            // 1/nS, nS
        double e_e_mV, e_i_mV;
        double tol_mV;    // per-step truncation target
        double h_max_ms;  // longest step
    };
    static constexpr const char* kKineticParameters[] = {"tau_m_ms", "g_leak_nS", "tau_e_ms",
                                                         "tau_i_ms", "e_e_mV",    "e_i_mV"};
    const Kinetics& kin(std::uint32_t i) const { return k_.size() == 1 ? k_[0] : k_[i]; }
    void begin_step(const Kinetics& k, State& x, Tick t, double v, double ge, double gi, double v_rest) const;
    double v_at(const State& x, Tick t) const;  // t in [t0, t0 + h]
    void g_at(const Kinetics& k, const State& x, Tick t, double& ge, double& gi) const;
    // V at any t >= t0 (steps on past the current one, in a copy, when t is beyond it).
    double v_beyond(std::uint32_t i, Tick t) const;
    // The first theta in (0, 1] with the step's polynomial >= v_th, or -1; located
    // well enough that ceil(theta * ticks) is that of the exact root (ticks: the step's).
    double first_crossing(const Poly& c, double v_th, double ticks) const;
    double refine(const Poly& c, double v_th, double lo, double hi, double ticks) const;
    // Start a step from the state at t (V = v) and schedule the own event; may spike at t.
    void restart(EngineHooks& engine, std::uint32_t i, Tick t, double v, double ge, double gi);
    // Spike at t with the conductances ge, gi at t.
    void spike(EngineHooks& engine, std::uint32_t i, Tick t, double ge, double gi);
    void schedule(EngineHooks& engine, std::uint32_t i, Tick t);

    LifCondExpParams p_;
    NeuronLevels lv_;  // rest, threshold, reset, refractoriness: shared or per neuron
    TimeBase time_;
    std::vector<Kinetics> k_;  // one for all neurons, or one per neuron (kin())
    std::vector<State> n_;
};

}  // namespace spikeem
