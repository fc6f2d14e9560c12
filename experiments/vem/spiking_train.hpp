#pragma once
// A short training run in which the spiking M-step (spiking.hpp) replaces the
// rate-based one for some maps, side by side with a purely rate-based run.
//
// Two copies of the same starting model learn from the same minibatches in
// the same order (minibatch k: columns k B .. k B + B - 1 of `train`, cyclic;
// shuffle the columns beforehand if wanted):
//   run A ("rate"):    every map takes the Eq. 1 rate step (eq1_rate_update)
//                      at the rate-based INFERENCE h of the minibatch;
//   run B ("spiking"): the same, except that the maps named in spiking_maps
//                      take their weight step from the spiking Eq. 1 dW that
//                      spiking_m_step measures on run B's model during the
//                      spiking inference of the minibatch.
// What is spiking in run B's chosen maps: the weight change, Eq. 1 (the
// voltage_slope rule) on the synapses of a copy of the map, driven by spike
// trains of the spiking inference, with targets from the spiking inference's
// membranes; the teaching nudge itself is computed by the driver (see
// spiking.hpp).  What is not: the E-step whose h the rate maps learn from
// stays rate-based in both runs (INFERENCE of train.inference), so only the
// M-step of the chosen maps differs between A and B; the biases (the
// spiking rule learns synapses only) follow bias_step.
// No corruption noise in either run: the spiking learners see uncorrupted
// inputs (the spike trains of x, h1, h2), so the rate run does too, and the
// M-step of every map is the plain Eq. 1 step of its squared loss.
//
// Units: the spiking dW is dW / eta summed over the nudges of a run, with the
// nudge gain lambda, in units unrelated to the rate step's.  Each chosen map's
// step is gain x (spiking dW summed over the minibatch / B), with ONE gain per
// map fixed on the first minibatch as the least-squares slope of the rate dW
// on the spiking dW there (both at the common starting model):
//   gain = <dW_rate, dW_spiking> / <dW_spiking, dW_spiking>,
// then never changed.  Learning rate: train.learning_rate for both runs.
#include <functional>
#include <string>
#include <vector>

#include "experiments/vem/spiking.hpp"
#include "experiments/vem/train.hpp"

namespace spikeem::vem {

// The chosen maps' biases: `rate` (both runs: the rate-based db at the run's
// own h, the weights alone differing in kind) or `frozen` (both runs: the
// chosen maps' biases stay at their start; the other maps' learn as usual).
enum class BiasStep { rate, frozen };

struct SpikingTrainSettings {
    // learning_rate, inference (the E-step of both runs, and the INFERENCE the
    // spiking run maps: spiking.inference is replaced by it) and seed are used;
    // corruption, epochs, batch and the prior are not.
    TrainSettings train;
    SpikingSettings spiking;  // seed: minibatch k runs with a seed keyed by (spiking.seed, k)
    MStepSettings m_step;
    std::vector<std::string> spiking_maps = {"g2"};  // names from kMapNames
    BiasStep bias_step = BiasStep::rate;
    int minibatches = 24;
    Eigen::Index batch = 4;
};

// After minibatch k (k = 0: before the first), per map in kMapNames order,
// the held-out loss of each run: squared_loss (1/(2B) sum ||t - y||^2) of the
// map on the held-out examples, pre and target from the run's own rate-based
// INFERENCE (the map's rate-based target at its inferred h).
// fixed_loss_*: the same, but pre and target fixed at the starting model's
// INFERENCE of the held-out examples: the map's own progress, without the
// drift of its targets as the other maps learn (in this model h1 grows
// during training, and with it every loss at the run's own h).
// For minibatch k >= 1, per chosen map (spiking_maps order):
//   cosine_same_state: cos(run B's spiking step, the rate step run B would
//                      have taken at the same model and minibatch);
//   cosine_runs:       cos(run B's step, run A's step) (the runs' models drift apart).
struct SpikingTrainPoint {
    int minibatch = 0;
    std::vector<double> loss_rate, loss_spiking;          // 4 each
    std::vector<double> fixed_loss_rate, fixed_loss_spiking;  // 4 each
    std::vector<double> cosine_same_state, cosine_runs;   // one per chosen map; empty at k = 0
};

struct SpikingTrainResult {
    std::vector<std::string> maps;    // the chosen maps
    std::vector<double> gain;         // per chosen map (see the header comment)
    std::vector<SpikingTrainPoint> curve;  // minibatches + 1 points
    Model rate, spiking;              // the two models at the end
    double simulated_ms = 0, spiking_wall_s = 0;  // of the spiking runs, summed
    std::uint64_t synaptic_events = 0;
};

using SpikingTrainProgress = std::function<void(const SpikingTrainPoint&)>;

// Runs A and B from `start` (see the header comment).  Throws
// std::invalid_argument for an unknown or repeated map name, no chosen map,
// minibatches < 1, batch < 1 or more than train's columns, or data whose rows
// are not the model's pixels.
SpikingTrainResult spiking_train(const Model& start, const Matrix& train, const Matrix& held_out,
                                 const SpikingTrainSettings& s, const SpikingTrainProgress& progress = {});

}  // namespace spikeem::vem
