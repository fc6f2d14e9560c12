#pragma once
// The parameters of the plasticity rules (what a spec's `plasticity` block
// becomes after validation).  Each rule's parameters live next to the rule
// in plasticity/; network/spec.hpp includes this file for ProjectionSpec.
// Contract: values handed to a rule have passed io's validation.
#include <limits>
#include <variant>

namespace spikeem {

// Which pre/post spike pairs interact (Morrison, Diesmann & Gerstner 2008, Fig. 7):
// all pairs; each spike with the nearest spike of the other side before it
// (symmetric nearest-spike); or each presynaptic spike with the last
// postsynaptic spike before it and the first one after it (presynaptic-centred).
enum class Pairing { AllToAll, NearestSymmetric, NearestPresynapticCentred };

// Window A+ exp(-dt/tau+) for dt = t_post - t_pre >= 0, -A- exp(dt/tau-) for dt < 0,
// times at the synapse; amplitudes in weight units (mV).
struct PairStdpParams {
    double a_plus_mV = 0.01;
    double a_minus_mV = 0.0105;
    double tau_plus_ms = 20.0;
    double tau_minus_ms = 20.0;
    Pairing pairing = Pairing::AllToAll;
};

// Pfister & Gerstner 2006: pre traces r1 (tau_plus), r2 (tau_x), post traces
// o1 (tau_minus), o2 (tau_y).  Pre spike: w -= o1 (A2- + A3- r2);
// post spike: w += r1 (A2+ + A3+ o2), each read just before its own update.
// Nearest-spike: traces are set to 1 at a spike instead of incremented.
struct TripletStdpParams {
    double a2_plus_mV = 0.0, a3_plus_mV = 0.0, a2_minus_mV = 0.0, a3_minus_mV = 0.0;
    double tau_plus_ms = 16.8, tau_minus_ms = 33.7, tau_x_ms = 101.0, tau_y_ms = 125.0;
    bool nearest_spike = false;
};

// The science's rule (Eq. 1): at each presynaptic spike reaching the synapse
// at t, dW = eta * (slope of the postsynaptic voltage around t).
//   Forward:  (V(t + T) - V(t-)) / T, read by a probe event at t + T;
//   Central:  (V(t + T) - V(t - T)) / 2T, V(t - T) read by a probe scheduled
//             when the spike is emitted (needs axonal delays >= T);
//   Analytic: the model's deterministic dV/dt at t-, applied at once.
// V(t-) is the voltage just before the spike's own PSP.  With exclude_own_psp
// the spike's own PSP is subtracted from V(t + T) (what is left of it after
// the neuron's resets), so the slope is that of everything else.
// The update is applied when the slope is known (t + T, or t).
enum class SlopeEstimate { Forward, Central, Analytic };
struct VoltageSlopeParams {
    double eta_ms = 1.0;  // dW (mV) = eta * slope (mV/ms)
    SlopeEstimate estimate = SlopeEstimate::Forward;
    double window_ms = 5.0;  // T
    bool exclude_own_psp = true;
};

// The rate form of Eq. 1, dW/dt = eta * rho_pre * d rho_post / dt, with rates
// read out as exponentially filtered spike trains, rho = trace / tau (1/ms).
// Integrated exactly between spikes: every postsynaptic spike adds
// eta / (tau_pre tau_post) * x_pre, and between spikes
// -eta / (tau_pre tau_post^2) * integral of x_pre y_post accumulates.
struct RateSlopeParams {
    double eta_mV_ms = 1.0;
    double tau_pre_ms = 20.0, tau_post_ms = 20.0;
};

// Weight dependence in Guetig et al. (2003) form, on the normalised weight
// u = (w - w_min)/(w_max - w_min): potentiation scaled by (1 - u)^mu_plus,
// depression by u^mu_minus.  Additive: 0, 0; multiplicative: 1, 1.
struct WeightDependence {
    double mu_plus = 0.0, mu_minus = 0.0;
};

struct PlasticitySpec {
    std::variant<PairStdpParams, TripletStdpParams, VoltageSlopeParams, RateSlopeParams> rule = PairStdpParams{};
    WeightDependence dependence;
    double w_min_mV = 0.0;
    double w_max_mV = std::numeric_limits<double>::infinity();  // finite unless additive
};

}  // namespace spikeem
