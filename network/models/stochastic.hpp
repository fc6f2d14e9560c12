#pragma once
#include <cstdint>
#include <vector>

#include "network/models/registry.hpp"
#include "network/population.hpp"

namespace spikeem {

// The stochastic rate neuron of StochasticParams.  Between events V (and the
// synaptic current I) follow their linear dynamics exactly; with noise the OU
// increment over each interval is drawn exactly.  Spikes are drawn exactly by
// thinning: candidate times come from a Poisson process whose rate B bounds
// rho(V) until the next change (without noise: rho of an upper bound of V over
// a horizon of tau_m; with noise: rho_max), and a candidate at t is accepted
// with probability rho(V(t)) / B.  An excitatory input raises the bound, so
// the pending candidate is redrawn (the memoryless property makes this exact);
// an inhibitory one cannot raise it and leaves the candidate standing.
//
// Per-neuron parameters (PopulationSpec::per_neuron; ModelTraits<
// StochasticParams>::per_neuron) live in a per-neuron copy of the constants,
// Consts; a population without spreads keeps one shared copy and runs the same
// arithmetic as before.  Each neuron's bound is computed from its own
// parameters (its rho_max, beta, theta, tau_m, ...), so the thinning stays exact
// per neuron.  Injected currents (add_current) move the neuron's drive, as
// set_drive does.
class StochasticPopulation final : public Population {
public:
    StochasticPopulation(const PopulationSpec& spec, std::uint32_t index, std::uint32_t global_offset,
                         const TimeBase& time, std::uint64_t seed);
    const char* model() const override { return ModelTraits<StochasticParams>::name; }
    bool is_neuron() const override { return ModelTraits<StochasticParams>::neuron; }
    void start(EngineHooks& engine) override;
    void on_event(EngineHooks& engine, const Event& e, std::uint32_t local) override;
    void save_state(StateWriter& w) const override;
    void load_state(StateReader& r) override;
    void deliver(EngineHooks& engine, Tick t, const std::uint32_t* targets, const double* weights,
                 std::size_t n) override;
    double voltage_mV(std::uint32_t local, Tick t) const override;
    double observe_voltage_mV(std::uint32_t local, Tick t) override;
    double drift_mV_per_ms(std::uint32_t local, Tick t) const override;
    double psp_mV(std::uint32_t local, double w, Tick t_in, Tick t_now) const override;
    double model_rate_hz(std::uint32_t local, Tick t) override;
    // A current of delta_mV (R I) starts to flow (negative: stops): the neuron's
    // drive moves by delta_mV at t (exact, as set_drive).
    void add_current(EngineHooks& engine, std::uint32_t local, Tick t, double delta_mV) override;

    // The spec's parameters (shared values; a neuron's own are in its Consts).
    const StochasticParams& params() const { return p_; }
    // rho(V) with the spec's shared rate parameters; rho_hz(n, v) with neuron n's.
    double rho_hz(double v_mV) const;
    double rho_hz(std::uint32_t n, double v_mV) const;
    // Change the drive of neuron n at time t (>= its last event): exact, the
    // pending spike candidate is redrawn against the new bound.
    void set_drive(EngineHooks& engine, std::uint32_t n, Tick t, double drive_mV);
    double drive_mV(std::uint32_t n) const { return drive_[n]; }

private:
    struct State {
        double v, i;
    };
    // A neuron's parameters (drive_mV is in drive_, as currents move it).
    struct Consts {
        double tau_m_ms, v_rest_mV, drive_slope_mV_per_ms, tau_syn_ms, noise_sigma_mV, rho_max_hz, beta_per_mV,
            theta_mV;
        bool reset;  // v_reset_mV given (or spread)
        double v_reset_mV;
        Tick t_ref_ticks, horizon_ticks;
    };
    static Consts consts(const StochasticParams& p, const TimeBase& time);
    const Consts& consts_of(std::uint32_t n) const { return per_.empty() ? shared_ : per_[n]; }
    static double rho_hz(const Consts& c, RateFunction f, double v_mV);
    double mu(std::uint32_t n, Tick t) const;            // leak target of neuron n at t (mV)
    State evolve(std::uint32_t n, Tick t) const;         // deterministic part, from the stored state
    void advance(std::uint32_t n, Tick t);               // store the state at t (drawing noise)
    double rate_bound_hz(std::uint32_t n) const;         // bound of rho over [t_last, t_last + horizon]
    void schedule_candidate(EngineHooks& engine, std::uint32_t n);

    StochasticParams p_;
    TimeBase time_;
    Consts shared_;            // every neuron's, unless per_ has an entry per neuron
    std::vector<Consts> per_;  // per neuron when some parameter is spread, else empty
    std::vector<double> v_, i_;
    std::vector<double> drive_;     // per neuron: the spec's drive until set_drive
    std::vector<Tick> t_last_;      // time of the stored state
    std::vector<Tick> pending_;     // tick of the live candidate event
    std::vector<double> bound_hz_;  // the bound the pending candidate was drawn with
    std::vector<std::uint8_t> refresh_;  // the pending event only renews the bound (horizon reached)
    std::vector<Tick> ref_until_, last_reset_;
    std::vector<RandomStream> rng_;
};

}  // namespace spikeem
