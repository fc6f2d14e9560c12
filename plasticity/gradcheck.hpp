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
#include <cstdint>
#include <vector>

#include "network/spec.hpp"

namespace spikeem {

struct GradcheckOptions {
    std::vector<std::uint64_t> seeds = {1, 2, 3, 4, 5};
    std::vector<double> checkpoints_ms = {1000, 2000, 5000, 10000, 20000, 50000, 100000};
};

struct AlignmentPoint {
    double t_ms;          // simulated time (whole cycles)
    std::uint64_t seed;
    std::uint64_t cycles;
    double cosine;        // cos(dW, dJ/dW)
    double pearson;       // correlation of dW and dJ/dW over synapses
    double slope;         // least-squares slope of dW against its predicted expectation (1: unbiased)
    double rel_error;     // ||dW - E[dW]|| / ||E[dW]||
};

struct GradcheckResult {
    // Per seed (initial weights may be random): dJ/dW at the initial weights,
    // pre-major (i * n_out + j), and J there.
    std::vector<std::vector<double>> gradients;
    std::vector<double> J;
    double gain_per_cycle = 0.0;             // eta * lambda * F: E[dW] per cycle = gain * dJ/dW
    double cycle_ms = 0.0;
    std::vector<AlignmentPoint> points;      // per checkpoint and seed, checkpoint-major
    std::vector<std::vector<double>> final_dw;  // per seed, at the last checkpoint
    std::uint64_t final_cycles = 0;
};

// F of the header comment (dimensionless), for nudge length D, window T, membrane tau.
double slope_factor(SlopeEstimate estimate, double window_ms, double nudge_ms, double tau_ms);

// Runs every seed (in parallel); results do not depend on the thread count.
// Throws std::invalid_argument if the spec has no supervised objective.
GradcheckResult run_gradcheck(const NetworkSpec& spec, const GradcheckOptions& options);

}  // namespace spikeem
