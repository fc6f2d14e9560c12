#pragma once
// `spikeem gradcheck`: how well the weight changes of a spiking run with Eq. 1
// follow the rate-based gradient dJ/dW of the objective declared in the spec.
//
// Supervised objective (SupervisedObjectiveSpec): the run is a sequence of
// cycles, a free phase (learning off; V_j averaged over its second half) then
// a nudged phase (learning on; the drive of output j raised by
// lambda tau_m (y_j - V_j), i.e. a target current lambda (y_j - V_j)).  For the
// linear neuron (no reset), the mean voltage then rises by
// Delta_j = lambda tau_m (y_j - V_j) with time constant tau_m, the fluctuations
// are stationary and independent of each presynaptic spike, and the
// expected weight change per cycle of a forward (central) difference with
// window T during a nudge of length D is exactly
//     E[dW_ij] = eta * lambda * F * dJ/dW_ij,
//     F = (1 / (Delta T_eff)) * integral over the nudge of E[V(t+T) - V(t-Tb)] dt,
// with Tb = 0 (forward) or T (central), T_eff = T + Tb, computed in closed form
// (slope_factor).  dJ/dW_ij = (y_j - V_j) tau_m rho_i.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "network/spec.hpp"

namespace spikeem {

struct GradcheckOptions {
    std::vector<std::uint64_t> seeds = {1, 2, 3, 4, 5};
    std::vector<double> checkpoints_ms = {1000, 2000, 5000, 10000, 20000, 50000, 100000};
    // Optional: (cycles done, cycles) over all seeds, called after every cycle
    // from the worker threads, one call at a time; it changes no result.
    std::function<void(std::size_t, std::size_t)> progress;
};

// The weights are compared in groups: the supervised objective's one
// projection, or for the energy objective all weights ("all") and each layer
// k -> k+1 (named "x->h", or "h<->y" for a tied pair).  expected_cosine is the
// cosine of the predicted E[dW] with dJ/dW over the group (1 for the
// supervised objective, where E[dW] = gain dJ/dW exactly).
struct WeightGroup {
    std::string name;
    std::size_t begin = 0, end = 0;   // [begin, end) in the objective's weight layout
    double expected_cosine = 1.0;
};

// One group of one seed at one checkpoint.  Besides the cosine of dW with
// dJ/dW, two baselines a correct rule must beat:
//  - null_cosine: cos(N, dJ/dW) for an error-free guess N that needs no
//    learning signal: N_ij = r_i y_j (presynaptic rate times the target) for
//    weights onto the output layer, N_ij = r_i r_j (Hebbian, free-phase rates)
//    onto a hidden layer, r_i the input rate or the free fixed point's rate;
//  - shuffled_cosine: cos(sigma . dW, dJ/dW) with sigma_q = +-1 drawn per weight
//    from the seed (the magnitudes of dW without their signs).
// cosine_beyond_null is the cosine of dW with dJ/dW after both are projected
// orthogonally to N: how well dW follows the part of the gradient the null
// guess does not already carry.
struct AlignmentPoint {
    double t_ms = 0.0;       // simulated time (whole cycles)
    std::uint64_t seed = 0;
    std::uint64_t cycles = 0;
    std::size_t group = 0;   // index in GradcheckResult::groups
    double cosine = 0.0;     // cos(dW, dJ/dW)
    double null_cosine = 0.0;
    double shuffled_cosine = 0.0;
    double cosine_beyond_null = 0.0;
    double pearson = 0.0;    // correlation of dW and dJ/dW over synapses
    double slope = 0.0;      // least-squares slope of dW against its predicted expectation (1: unbiased)
    double rel_error = 0.0;  // ||dW - E[dW]|| / ||E[dW]||
};

struct MeanSe {
    double mean = 0.0, se = 0.0;  // se: standard error over seeds (0 for one seed)
};

// Per checkpoint and group, over seeds.  gap = cosine - max(null_cosine,
// shuffled_cosine), per seed.  The group counts as aligned when both the gap
// and cosine_beyond_null exceed 3 standard errors over seeds (one-sided, ~0.1%
// for a normal mean; with one seed: when both are > 0).
struct AlignmentSummary {
    double t_ms = 0.0;
    std::size_t group = 0;
    std::size_t seeds = 0;
    MeanSe cosine, null_cosine, shuffled_cosine, gap, cosine_beyond_null, slope, rel_error;
    bool aligned = false;
};

// Energy objective (EnergyObjectiveSpec): dJ/dW is the exact gradient of the
// EqProp cost at the free fixed point of the rate network the spiking network
// implements (objective::EnergyNetwork, in weight units 1/mV), over the weights
// of layers[0] -> layers[1], ... in EnergyNetwork's layout (a tied pair is one
// weight).  The predicted E[dW] per nudge integrates the rate network's
// mean-field trajectory through the nudge (delays, the rule's window and the
// end of the nudge included) against both directions' Eq. 1 terms:
//   E[dW_ij] = eta * integral over arrivals t in the nudge of r_i(t - d) (V_j(t + T) - V_j(t - Tb)) / (T + Tb)
//              (+ the same with i and j swapped for a tied pair),
// r = rho_max clip(s, 0, 1).  This is exact for the mean of the linear (all
// units inside (0, 1)) network except for spike-voltage covariances through
// the loops of the network, which the comparison measures.
struct GradcheckResult {
    // Per seed (initial weights may be random): dJ/dW at the initial weights,
    // pre-major (i * n_out + j), and J there.
    std::vector<std::vector<double>> gradients;
    std::vector<double> J;
    std::vector<WeightGroup> groups;
    std::vector<std::vector<double>> null_guess;  // per seed: N of AlignmentPoint, weight layout
    double gain_per_cycle = 0.0;             // eta * lambda * F: E[dW] per cycle = gain * dJ/dW
                                             // (energy: the least-squares fit of E[dW] per cycle on dJ/dW)
    // Energy objective: E[dW] per +beta and per -beta nudge (seed 1), the
    // cosine of E[dW] per +-beta pair with dJ/dW (the ceiling of the cosine),
    // and the free fixed point's units pinned at 0 or 1, the largest number over seeds (the mean field is exact at 0 pinned).
    std::vector<double> expected_plus, expected_minus;
    double expected_cosine = 1.0;
    std::size_t pinned = 0;
    double cycle_ms = 0.0;
    std::vector<AlignmentPoint> points;      // per checkpoint, seed and group, in that order
    std::vector<std::vector<double>> final_dw;  // per seed, at the last checkpoint
    std::vector<std::vector<double>> final_expected;  // per seed: its predicted E[dW] there
    std::uint64_t final_cycles = 0;
};

class Simulation;

// The measurement of the free phase [t_ms, t_ms + free_ms) of the nudging
// protocols: runs `sim` to the end of the phase and returns the mean voltage
// of neurons 0..n-1 of `population` over the second half of its first
// free_ms - end_gap_ms (50 evenly spaced samples), the V_hat the nudge is
// computed from.  A gap of a few membrane time constants before the nudge
// leaves V_hat's noise uncorrelated with the network's state during the nudge
// (needed when the nudged units feed back onto presynaptic units of a learned
// projection).  Requires 0 <= end_gap_ms < free_ms.
std::vector<double> free_phase_voltages(Simulation& sim, std::size_t population, std::uint32_t n, double t_ms,
                                        double free_ms, double end_gap_ms = 0.0);

// F of the header comment (dimensionless), for nudge length D, window T, membrane tau.
double slope_factor(SlopeEstimate estimate, double window_ms, double nudge_ms, double tau_ms);

// Mean and standard error over seeds per checkpoint and group (checkpoint-major).
std::vector<AlignmentSummary> summarize(const GradcheckResult& r);

// +-1 per weight, a function of the seed only (the shuffled-sign control).
std::vector<double> shuffled_signs(std::uint64_t seed, std::size_t n);

// Runs every seed (in parallel); results do not depend on the thread count.
// Throws std::invalid_argument if the spec has no objective.
GradcheckResult run_gradcheck(const NetworkSpec& spec, const GradcheckOptions& options);

}  // namespace spikeem
