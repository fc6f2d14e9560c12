#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "network/models/registry.hpp"
#include "network/population.hpp"

namespace spikeem {

// Adaptive exponential integrate-and-fire (AdExParams, Brette & Gerstner 2005):
//   C dV/dt = -g_L (V - E_L) + g_L Delta_T exp((V - V_T)/Delta_T) - w + I_e,
//   tau_w dw/dt = a (V - E_L) - w;
//   an input w (mV) jumps V by w; V >= v_peak: spike, V = v_reset, w += b,
//   V held at v_reset during [t, t + t_ref) while w relaxes (in closed form).
//
// How exact (docs/models.md, "adex", has the scheme and the measured errors).
// There is no closed form.  Between events (V, w) is integrated by the
// Dormand-Prince 5(4) pair with local extrapolation and error control
// (kTolerance mV per step for V, kTolerance * g_leak pA for w), steps in whole
// ticks.  The exponential diverges before v_peak; from V >= v_t + 2 Delta_T on, a
// step integrates z = exp(-(V - v_t)/Delta_T) instead of V, for which the
// divergence is the regular root z = z_peak of
//   dz/dt = -g_L/C - (z/Delta_T) (-g_L (V - E_L) - w + I_e)/C,
// so the last stretch before a spike takes a few ordinary steps.
//
// As in LifCondExpPopulation, each neuron keeps its current step: Dormand-Prince's
// continuous extension (degree 5 in theta, 4th order) on [t0, t0 + h].  V at any
// time in it is one evaluation of it (voltage probes read it: recording changes
// nothing).  An input at t evaluates (V, w) at t, jumps V, and starts a new step
// at t; the neuron's own event is the first tick at or after the continuous
// extension's first crossing of v_peak in the step ("exact"), or the step's end
// ("lazy").  The crossing is looked for at kSamples + 1 evenly spaced points of
// the step and bisected to within one tick; a crossing that comes and goes
// between two sample points is missed (V has to pass v_peak and turn back
// within a fraction of a step: only with v_peak a few delta_t above v_t at most).
// No state is shared between neurons and no reference time moves.
//
// Per-neuron parameters (PopulationSpec::per_neuron: every numeric parameter,
// ModelTraits<AdExParams>::per_neuron) and injected currents (add_current: a
// current R I = delta mV with R = 1/g_leak adds delta g_leak pA to the neuron's
// i_e) live in a per-neuron copy of the constants, Consts; a population without
// either keeps one shared copy, so its arithmetic is that of a population
// without the feature, bit for bit.
class AdExPopulation final : public Population {
public:
    static constexpr double kTolerance = 1e-12;  // per-step error target, mV
    static constexpr int kSamples = 16;          // crossing search points per step
    static constexpr double kSwitch = 2.0;       // z-form from V >= v_t + kSwitch delta_t

    AdExPopulation(const PopulationSpec& spec, std::uint32_t index, std::uint32_t global_offset,
                   const TimeBase& time, std::uint64_t seed);
    const char* model() const override { return ModelTraits<AdExParams>::name; }
    bool is_neuron() const override { return ModelTraits<AdExParams>::neuron; }
    void start(EngineHooks& engine) override;
    void on_event(EngineHooks& engine, const Event& e, std::uint32_t local) override;
    void save_state(StateWriter& w) const override;
    void load_state(StateReader& r) override;
    void deliver(EngineHooks& engine, Tick t, const std::uint32_t* targets, const double* weights,
                 std::size_t n) override;
    // V at t (>= the last event applied), at most v_peak (between a crossing and its spike tick).
    double voltage_mV(std::uint32_t local, Tick t) const override;
    double drift_mV_per_ms(std::uint32_t local, Tick t) const override;
    // A current of delta_mV (R I) starts to flow (negative: stops): i_e of the
    // neuron moves by delta_mV g_leak pA; V and w are continuous, the step
    // restarts at t.  Contract: built with PopulationSpec::takes_current.
    void add_current(EngineHooks& engine, std::uint32_t local, Tick t, double delta_mV) override;
    // The linearised PSP (an approximation: AdEx has no superposition): an
    // input's jump w decays with the membrane time constant c/g_leak,
    // w exp(-(t_now - t_in) g_leak/c), until the neuron's next spike (0 from a
    // spike at or after t_in on, and 0 for an input lost while refractory).
    // The exponential current and w's response to the jump are left out.
    double psp_mV(std::uint32_t local, double w, Tick t_in, Tick t_now) const override;

    // The spec's parameters (shared values; a neuron's own are in its Consts).
    const AdExParams& params() const { return p_; }
    // Neuron i's injected constant current now: its i_e_pA plus any current input (pA).
    double i_e_pA(std::uint32_t local) const { return consts_of(local).i_e_pA; }
    // The adaptation current at t (pA), read-only; t >= the last event applied.
    double w_pA(std::uint32_t local, Tick t) const;
    // Steps computed so far by the neuron's own dynamics (not by reads), for cost measurements.
    std::uint64_t steps(std::uint32_t local) const { return n_[local].steps; }

private:
    enum Mode : std::uint8_t { kLazy = 0, kExact = 1, kRefractory = 2 };
    using Y = std::array<double, 2>;  // (V or z, w)
    // A neuron's parameters and the constants derived from them (as the spec's,
    // per neuron when they differ).
    struct Consts {
        double c_pF, g_leak_nS, e_leak_mV, v_t_mV, delta_t_mV, a_nS, tau_w_ms, b_pA, v_reset_mV, v_peak_mV, i_e_pA;
        double g_over_c, inv_c, inv_tau_w, inv_delta_t;  // 1/ms, 1/pF, 1/ms, 1/mV
        double v_switch_mV, z_peak;
        double tol_w_pA, h_max_ms;
        Tick t_ref_ticks;
    };
    static Consts consts(const AdExParams& p, const TimeBase& time);
    const Consts& consts_of(std::uint32_t i) const { return per_.empty() ? shared_ : per_[i]; }
    // Per neuron.  Outside refractoriness y(t0 + theta h) = r0 + theta (r1 + (1 - theta)
    // (r2 + theta (r3 + (1 - theta) r4))) for theta in [0, 1], y = (z, w) if zform, else
    // (V, w).  During refractoriness r[0][1] is w at t0 and V is v_reset.
    struct State {
        std::array<Y, 5> r;
        Tick t0, h;
        Tick pending;  // tick of the own event, kNever if none
        Tick clamp;    // end of the refractory period
        double h_next_ms;  // the step controller's next proposal
        std::uint64_t steps;
        Mode mode;
        bool zform;
    };

    static Y rhs(const Consts& p, const Y& y, bool zform);
    // One Dormand-Prince step of h ms from y0: the error norm (1: at the tolerance) and
    // the continuous extension's coefficients in r.
    static double dp_step(const Consts& p, const Y& y0, double h_ms, bool zform, std::array<Y, 5>& r);
    // The step from t with (V, w): form, length (ticks), coefficients; t0 = t.
    void begin_step(const Consts& p, State& x, Tick t, double v, double w) const;
    Y y_at(const State& x, Tick t) const;  // t in [t0, t0 + h]
    static double v_of(const Consts& p, const Y& y, bool zform);
    // (V, w) at any t >= t0 (steps on past the current one, in a copy, when t is beyond it).
    void state_beyond(const Consts& p, const State& x, Tick t, double& v, double& w) const;
    // The first theta in (0, 1] at which the step's extension reaches v_peak, or -1,
    // located well enough that ceil(theta * h) is the tick of that crossing.
    static double first_crossing(const Consts& p, const State& x);
    void restart(EngineHooks& engine, std::uint32_t i, Tick t, double v, double w);
    void spike(EngineHooks& engine, std::uint32_t i, Tick t, double w);
    void schedule(EngineHooks& engine, std::uint32_t i, Tick t);

    AdExParams p_;
    TimeBase time_;
    Consts shared_;            // every neuron's, unless per_ has an entry per neuron
    std::vector<Consts> per_;  // per neuron (spreads or currents), else empty
    double h_min_ms_;
    std::vector<State> n_;
    std::vector<Tick> last_spike_;  // per neuron, -1: none (for psp_mV)
};

}  // namespace spikeem
