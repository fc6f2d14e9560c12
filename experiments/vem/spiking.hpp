#pragma once
// The E-step and M-step of the variational-EM model (model.hpp) in spikeem's
// event-driven simulator, with the hidden units as stochastic spiking neurons.
//
// E-step.  INFERENCE in continuous time: one iteration is step_ms of simulated
// time, so with tau = step_ms / delta
//     tau dh2/dt = f2(h1) - f2(g2(h2))
//     tau dh1/dt = f1(x) - f1(g1(h1)) + (alpha / delta) (g2(h2) - h1).
// Populations (all StochasticParams neurons, no noise, no reset, voltage jumps):
//   h1, h2  the hidden units; the membrane V is the state h itself and the
//           rate encodes it linearly, R clip((V - h_min) / (h_max - h_min), 0, 1)
//           (hard sigmoid; INFERENCE can take a softplus unit below 0).
//           h2 integrates its input without leak; h1 leaks with tau / (alpha / delta)
//           toward the drive (delta / alpha) f1(x): the leak is the -alpha h1 term
//           and the drive the constant f1(x) term (not spiking; spiking_f1x makes
//           it synaptic input from a map population f1x of a Poisson source x).
//   f2h1 = f2(h1), g2h2 = g2(h2), f2g2 = f2(g2(h2)), g1h1 = g1(h1), f1g1 = f1(g1(h1)):
//           one neuron per output unit of the map, leak tau_f = filter_ms toward the
//           map's bias (less W h_min for an h input, whose rate encodes h - h_min),
//           input synapses W scaled so that V is the map's pre-activation
//           applied to the exponentially filtered (tau_f) spike trains of the
//           input population, rate R act(V) (the model's sigmoid, or the
//           stochastic neuron's Softplus rate function).
//   Their spikes reach h1, h2 through one-to-one synapses of weight
//   +-1 / (tau R) (alpha / (delta tau R) for g2h2 -> h1), which is
//   tau dh/dt = the bracket, in expectation.
// Every term of the brackets except f1(x) (and it too with spiking_f1x) thus
// arrives as synaptic input from a spiking population.  Before the inference
// starts (at step_ms - 1 us, so that the read-outs at multiples of step_ms
// fall 1 us after each iteration's end) every population is silent (h at
// h_min, the maps at drive and V -40 mV); one spike of a source "init" then
// sets every membrane to its value at h(0) = (f1(x), f2(f1(x))).
// h is read with the recorders: RateReadout::Model of h1, h2 (rho(V), i.e. V
// within the encoding range) and RateReadout::Exp (the filtered spike trains).
//
// M-step.  Eq. 1, the engine's voltage_slope rule (forward difference), on
// synapses of the model's maps while the inference runs: x -> f1x_learn (f1; x
// a Poisson source at rates R x), h1 -> f2h1_learn (f2), h2 -> g2h2_learn (g2),
// h1 -> g1h1_learn (g1).  The *_learn populations are copies of map populations
// (same W, same inputs, same start) that feed nothing: their nudges leave the
// inference untouched (the same spikes as without the M-step).  Teaching
// signal: cycles of a free phase (rule off) and a nudge (rule on); in the free
// phase the driver reads the learner's membrane a (less what earlier nudges
// still add to it, known exactly as the membrane is linear in its drive) and
// the target (h1's or h2's membrane, or x), then raises the learner's drive by
// lambda (t - act(a)) act'(a), the slope of the map's squared loss in voltage
// (docs/science.md section 1, dV/dt = gamma dJ/dV).
// The nudge sign alternates between cycles and the rule's gain with it, so
// that the movement of the membranes due to the inference itself cancels.
// The teaching signal is computed by the driver from the membranes: it is not
// spiking.  eta is tiny: the rule is measured, not used.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "experiments/vem/model.hpp"
#include "network/spec.hpp"
#include "network/simulation.hpp"

namespace spikeem::vem {

struct SpikingSettings {
    InferenceSettings inference;  // the rate-based INFERENCE mapped (steps, delta, alpha; alpha > 0)
    double step_ms = 20.0;        // simulated time of one iteration
    double rate_max_hz = 1000.0;  // R
    // tau_f of the map populations; <= 0: step_ms / 4.  Its lag (a fraction
    // tau_f / tau of an iteration's change) against the noise of the filtered
    // trains (variance ~ 1 / (R tau_f), biasing act() by its curvature).
    double filter_ms = 0.0;
    double delay_ms = 0.1;        // every synapse
    // Encoding ranges: h_l reads h_min at rate 0 and h_max at rate R (the Model
    // read-out clips to the range).  h1_max <= 0: h1_margin x the largest f1(x)
    // of the examples (the start of inference); h1_min = -h1_below x h1_max.
    double h1_max = 0.0;
    double h1_margin = 1.5;
    double h1_below = 0.25;
    double h2_min = -0.125, h2_max = 1.125;
    double readout_tau_ms = 0.0;  // Exp read-out; <= 0: step_ms
    // f1(x) as synaptic input too: x a Poisson source at rates R x, f1x a map
    // population fed by it, f1x -> h1 one-to-one (+1 / (tau R)), and h1 leaks
    // toward 0; otherwise f1(x) is h1's constant drive.
    bool spiking_f1x = false;
    std::uint64_t seed = 1;
    unsigned threads = 1;         // Simulation threads (results do not depend on it)
    // How threads become partitions (simulation.hpp): by default fewer when the
    // network is too small to gain; Exact splits it anyway (tests of the split).
    Partitioning partitioning = Partitioning::ByWork;
};

struct MStepSettings {
    double cycle_ms = 20.0;  // free phase, then nudge
    double nudge_ms = 10.0;
    // The nudge: drive + lambda (t - act(a)) act'(a), mV.  The learners' membranes
    // are linear in their drive, so a large lambda only lifts the signal above
    // the membrane noise the rule reads.
    double lambda = 50.0;
    double window_ms = 1.0;  // forward-difference window T of Eq. 1
    double eta_ms = 1e-9;    // dW = eta * slope: tiny, the weights stay put
    int samples = 10;        // membrane reads over the second half of each free phase
};

// The four maps in a fixed order.
inline constexpr const char* kMapNames[4] = {"f1", "f2", "g2", "g1"};

// One example's spiking run.  Sample k (k = 0..steps) is at k step_ms + 1 us of
// inference time.
struct SpikingRun {
    std::vector<double> t_ms;               // k * step_ms
    std::vector<Vector> h1, h2;             // Model read-out
    std::vector<Vector> h1_exp, h2_exp;     // Exp read-out
    std::vector<Matrix> dW;                 // M-step runs: per map (kMapNames), summed Eq. 1 dW / eta, out x in
    std::vector<double> nudge_mid_ms;       // M-step runs: inference time of the middle of each nudge
    double h1_min = 0.0, h1_max = 0.0;
    double simulated_ms = 0.0, wall_s = 0.0;
    std::uint64_t spikes = 0, synaptic_events = 0;
};


// The encoding ranges of the settings for examples x (columns).
struct Ranges {
    double h1_min, h1_max, h2_min, h2_max;
};
Ranges ranges(const Model& m, const Matrix& x, const SpikingSettings& s);

// Runs one example; `m_step` non-null adds the M-step (the inference is the same).
SpikingRun run_spiking(const Model& m, const Vector& x, const SpikingSettings& s, const MStepSettings* m_step = nullptr);

// The network of one example x (one column), for inspection; run_spiking builds the same.
NetworkSpec spiking_network(const Model& m, const Vector& x, const SpikingSettings& s, const Ranges& r, bool m_step);

// The rate-based references at every iteration k = 0..steps: INFERENCE
// itself (euler) and its continuous-time limit (ode: each iteration as
// `substeps` iterations with delta and alpha divided by substeps).
struct RateTrajectory {
    std::vector<Hidden> euler, ode;
};
RateTrajectory rate_trajectory(const Model& m, const Matrix& x, const InferenceSettings& s, int substeps = 20);

// Per sample k, the mean over examples of ||h_spiking - h_rate|| / ||h_rate||.
struct InferenceError {
    std::vector<double> t_ms;
    std::vector<double> h1, h2;          // Model read-out against INFERENCE
    std::vector<double> h1_ode, h2_ode;  // Model read-out against the continuous-time limit
    std::vector<double> h1_exp, h2_exp;  // Exp read-out against INFERENCE
    // At the end, relative to the change of h during inference: ||h_sp - h_rate|| / ||h_rate(end) - h_rate(0)||.
    double h1_of_change = 0.0, h2_of_change = 0.0;
    // The continuous-time limit against INFERENCE at the end (what no T_step removes).
    double ode_floor_h1 = 0.0, ode_floor_h2 = 0.0;
    double simulated_ms = 0.0, wall_s = 0.0;  // summed over examples
    std::uint64_t synaptic_events = 0;
    std::vector<SpikingRun> runs;
};
// `progress(done, total)` (optional): examples done, after each; it changes no result.
InferenceError spiking_inference_error(const Model& m, const Matrix& x, const SpikingSettings& s,
                                       const MStepSettings* m_step = nullptr,
                                       const std::function<void(Eigen::Index, Eigen::Index)>& progress = {});

// The spiking M-step over the examples (columns of x) against the rate-based
// one, per map.  cosine: cos(sum of spiking dW, eq1_rate_update at INFERENCE's
// final h); cosine_trajectory: against the sum over nudges of eq1_rate_update at
// INFERENCE's h at each nudge (what the rule estimates).  Baselines as in
// gradcheck.hpp: null_cosine, cos(N, rate dW) for the error-free guess
// N = target pre^T; shuffled_cosine, the spiking dW with signs drawn per weight;
// cosine_beyond_null, both projected orthogonally to N.  cosine_spiking_h:
// against eq1_rate_update at the spiking run's own final h (its read-outs), which
// separates the M-step's error from the E-step's (a target that the spiking
// inference got wrong makes the first cosine small even for a perfect rule).
struct MapAlignment {
    std::string map;
    double cosine = 0, cosine_trajectory = 0, cosine_spiking_h = 0;
    double null_cosine = 0, shuffled_cosine = 0, cosine_beyond_null = 0;
};
struct MStepResult {
    std::vector<MapAlignment> maps;
    std::vector<Matrix> dW_spiking, dW_rate;  // per map, summed over examples / averaged (eq1_rate_update)
    InferenceError inference;                 // of the M-step runs
};
// `progress` as for spiking_inference_error.
MStepResult spiking_m_step(const Model& m, const Matrix& x, const SpikingSettings& s, const MStepSettings& ms,
                           const std::function<void(Eigen::Index, Eigen::Index)>& progress = {});

// GENERATE with the spiking E-step: from ancestral samples x = g1(g2(h2))
// (columns of x_ancestral), `refine` times run the spiking INFERENCE of each
// sample (s.inference: GENERATE's alpha) and redraw x = g1(h1) from its
// final h1 read-out.  Decoding x = g1(h1) is rate-based.  Samples run one after
// the other; `progress(done, total)` (optional) after each.
Matrix generate_spiking(const Model& m, const Matrix& x_ancestral, int refine, const SpikingSettings& s,
                        const std::function<void(Eigen::Index, Eigen::Index)>& progress = {});

}  // namespace spikeem::vem
