#pragma once
// learn_regression: does spiking plasticity (Eq. 1) follow the gradient trajectory?
//
// A supervised layer (Poisson inputs -> leaky stochastic outputs, no reset;
// V_j = offset_j + tau_m sum_i W_ij rho_i on average) learns a regression task
// of P = 4 input patterns rho_p with targets y_p = offset + tau_m W*^T rho_p
// (a ground-truth W*, so zero loss is reachable).  The spiking run cycles
// through the patterns: cycle c uses pattern p = c mod P; its free phase starts
// with learning off and, 2T later (once the previous nudge's last Eq. 1 probes
// have landed), sets the input rates to rho_p; V_j is averaged over the
// second half of the free phase (V_hat); the nudged phase
// adds the target current lambda (y_pj - V_hat_j) (drive raised by
// lambda tau_m (y_pj - V_hat_j)) with Eq. 1 on.  This is the protocol of
// experiments/gradcheck.cpp, whose expected weight change per cycle is exactly
//     E[dW] = g dJ_p/dW,   g = eta lambda F,   F = slope_factor(estimate, T, nudge, tau_m).
// In lockstep a rate model starts from the same W_0 and takes exactly that
// expected step per cycle: W_rate += g dJ_p/dW(W_rate) (objective::SupervisedLayer).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "network/spec.hpp"

namespace spikeem {

// The number of patterns P of the task.
inline constexpr std::size_t kRegressionPatterns = 4;

// The task, fixed by the task seed and independent of the platform's <random>:
// input rates uniform in [5, 50] Hz, W*_ij uniform in [-0.5, 0.5] mV, and
// y_p = V(W*) of the same rate model the losses use.
struct RegressionTask {
    std::vector<std::vector<double>> rates_hz;  // [p][i]
    std::vector<std::vector<double>> y;         // [p][j], mV
    std::vector<double> w_star;                 // pre-major, mV
};

// The layer the spec's supervised objective names, by index into the spec.
// The loader has checked that the names exist, that the output is a
// stochastic population and that the projection has voltage_slope plasticity.
struct RegressionLayer {
    std::size_t input = 0, output = 0, projection = 0;
    std::size_t n_in = 0, n_out = 0;
};

// Requires a supervised objective (std::bad_variant_access otherwise).
RegressionLayer regression_layer(const NetworkSpec& spec);

struct LearnRegressionOptions {
    std::uint64_t epochs = 1;     // one epoch = one cycle per pattern
    std::uint64_t task_seed = 7;  // the patterns and W*
    // Optional: (cycles done, cycles) after every cycle; it changes no result.
    std::function<void(std::size_t, std::size_t)> progress;
};

// One row per epoch, read once the epoch's last nudge has settled.  The
// relative distances are ||W_spiking - W_rate|| / ||W_rate - W_0|| split into
// the part in span{rho_p} (per output column: the only directions any gradient
// step moves) and the rest; NaN while W_rate = W_0 (epoch 0).
struct LearningRow {
    std::size_t epoch;
    double t_ms, loss_spiking, loss_rate, rel_distance, rel_span, rel_null;
};

struct LearnRegressionResult {
    RegressionTask task;
    std::size_t n_in = 0, n_out = 0;
    double cycle_ms = 0.0;        // free_ms + nudge_ms
    double slope_factor = 0.0;    // F
    double gain_per_cycle = 0.0;  // g = eta lambda F: E[dW] per cycle = g dJ_p/dW
    std::vector<LearningRow> rows;  // epochs 0 .. options.epochs
    std::vector<double> w0, w_spiking_end, w_rate_end;  // pre-major (i * n_out + j), mV
    // The relative distance starts large (after a few cycles ||W_rate - W_0||
    // is smaller than the noise of a few Eq. 1 updates), so it is summarized
    // from the first epoch on which the rate model's loss has fallen by 10%
    // ("learning under way"; the last epoch if it never does): its largest
    // value from there on, its smallest and where that is.
    std::size_t epoch_under_way = 0;
    double rel_distance_max_from_under_way = 0.0;
    double rel_distance_min = 0.0;
    std::size_t rel_distance_min_epoch = 0;
    double wall_s = 0.0;  // wall time of the simulation and the lockstep
};

// Runs the spiking layer and the rate model in lockstep for options.epochs
// epochs (the spec's run.duration_ms and record are replaced).  Throws
// std::invalid_argument unless the spec has a supervised (not Gaussian)
// objective whose free_ms exceeds 4 x the rule's window, and epochs >= 1.
LearnRegressionResult run_learn_regression(const NetworkSpec& spec, const LearnRegressionOptions& options);

}  // namespace spikeem
