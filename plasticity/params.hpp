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

// Inhibitory STDP of Vogels, Sprekeler, Zenke, Clopath & Gerstner (2011,
// Science 334:1569): a symmetric window with a constant depression per
// presynaptic spike.  Traces x_pre (per synapse) and x_post (per neuron) jump
// by 1 at each spike and decay with tau.  At a presynaptic arrival the strength
// grows by eta (x_post - alpha); at a postsynaptic arrival by eta x_pre;
// alpha = 2 rho_0 tau.  Summed over pairs: eta exp(-|dt|/tau) for every pair,
// minus eta alpha per presynaptic spike, so for independent trains the mean
// drift is 2 eta tau r_pre (r_post - rho_0): inhibition grows while the
// postsynaptic rate is above the target rho_0 and shrinks below it.
// "Grows" is the strength |w|: on an inhibitory projection (w_max_mV <= 0)
// w becomes more negative (efficacy_sign below).
struct InhibitoryStdpParams {
    double eta_mV = 0.01;
    double tau_ms = 20.0;
    double target_rate_hz = 5.0;  // rho_0
    // alpha = 2 rho_0 tau (dimensionless; rho_0 in 1/ms).
    double alpha() const { return 2.0 * target_rate_hz * 1e-3 * tau_ms; }
};

// Weight dependence in Guetig et al. (2003) form, on the normalised weight
// u = (w - w_min)/(w_max - w_min): potentiation scaled by (1 - u)^mu_plus,
// depression by u^mu_minus.  Additive: 0, 0; multiplicative: 1, 1.
struct WeightDependence {
    double mu_plus = 0.0, mu_minus = 0.0;
};

struct PlasticitySpec {
    std::variant<PairStdpParams, TripletStdpParams, VoltageSlopeParams, RateSlopeParams, InhibitoryStdpParams> rule =
        PairStdpParams{};
    WeightDependence dependence;
    // Signed bounds on w; see efficacy_sign for what potentiation means between them.
    double w_min_mV = 0.0;
    double w_max_mV = std::numeric_limits<double>::infinity();  // finite unless additive
};

// The sign convention for plastic weights.  Weights are signed (w < 0 is
// inhibitory in every neuron model), and so are the bounds.  The spike-pair
// rules (pair_stdp, triplet_stdp, inhibitory_stdp) change a synapse's strength
// s = efficacy_sign * w, as NEST's STDP synapses do (whose W_max carries the
// sign of the weights):
//   - w_max_mV <= 0: the projection is inhibitory (all its weights lie in
//     [w_min, w_max], so <= 0) and s = -w = |w|: potentiation makes w more
//     negative, down to w_min_mV (the strongest inhibition), depression brings
//     it back towards w_max_mV (e.g. 0).  The weight dependence reads
//     u = (s - s_min)/(s_max - s_min) = (w_max - w)/(w_max - w_min).
//   - otherwise s = w: every rule works on w itself, as it always has (so
//     weights may cross 0 if w_min_mV < 0 < w_max_mV).
// The Eq. 1 rules (voltage_slope, rate_slope) always change w itself: their
// update is a signed gradient step on w, whatever the synapse's sign.
// Returns +1 or -1; multiplying by +1 is exact, so s = w bit for bit there.
inline double efficacy_sign(const PlasticitySpec& p) {
    const bool signed_rule =
        std::holds_alternative<VoltageSlopeParams>(p.rule) || std::holds_alternative<RateSlopeParams>(p.rule);
    return !signed_rule && p.w_max_mV <= 0.0 ? -1.0 : 1.0;
}

}  // namespace spikeem
