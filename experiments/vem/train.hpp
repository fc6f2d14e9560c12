#pragma once
// TRAIN and GENERATE of variational EM (docs/generative.md).  Each minibatch:
// INFERENCE gives h1, h2 (the E-step); then each map learns, on its own, to
// predict its layer's inferred state from a corrupted neighbour (the M-step,
// Eq. 1 in rate form, see eq1_rate_update):
//   g1: x  from h~1      f1: h1 from x~
//   g2: h1 from h~2      f2: h2 from h~1
// x~ and h~1 add Gaussian noise; h~2 is the mean of a few Bernoulli(h2) draws
// (spike-like noise).  The four maps' steps are independent and run in parallel.
#include <cstdint>
#include <functional>
#include <vector>

#include "experiments/vem/model.hpp"

namespace spikeem::vem {

struct TrainSettings {
    int epochs = 20;
    Eigen::Index batch = 100;
    float learning_rate = 0.01f;       // plain SGD on the 1/(2B) squared losses
    float corruption_x = 0.3f;         // std of the Gaussian noise on x~
    float corruption_h1 = 0.3f;        // std of the Gaussian noise on h~1
    int bernoulli_samples = 3;         // h~2 = mean of this many Bernoulli(h2) draws
    float prior_var_scale = 4.0f;      // p(h2): empirical mean, this x the empirical variance
    InferenceSettings inference;       // the E-step during training
    std::uint64_t seed = 1;            // initialisation, shuffling, corruption
};

// Per layer l = 1, 2: the decoder's loss (g_l(h~_l) against h_{l-1}: the
// reconstruction) and the encoder's (f_l(h~_{l-1}) against h_l: the
// prediction), each 1/(2B) sum of squares before the step, averaged over
// the epoch's minibatches; and the mean norms of the inferred h.
struct EpochStats {
    int epoch = 0;  // 1-based
    double reconstruction[2] = {0, 0}, prediction[2] = {0, 0};
    double h1_norm = 0, h2_norm = 0;
    // Mean log p(x, h) of the training digits at the inferred h, under the prior
    // fitted at the end of the previous epoch (NaN in the first, which has none).
    double log_p_xh = 0;
    double seconds = 0;
    double examples_per_s = 0;
};

// One minibatch's M-step at inferred h (columns of x, h.h1, h.h2): every map
// takes its Eq. 1 step.  `stream` keys the corruption noise of this minibatch.
// Returns the losses before the step as {rec1, pred1, rec2, pred2}.
std::vector<double> m_step(Model& m, const Matrix& x, const Hidden& h, const TrainSettings& s, std::uint64_t stream);

// Progress of an epoch: minibatches done of total, and the running mean losses.
using TrainProgress = std::function<void(int epoch, Eigen::Index done, Eigen::Index total, const EpochStats& so_far)>;

// One epoch over the columns of `train` (shuffled by a stream keyed by seed
// and epoch, so an epoch's result depends only on the model it starts from,
// the data, the settings and its number: a resumed run equals an
// uninterrupted one).  Fits the prior on the epoch's end state.
EpochStats train_epoch(Model& m, const Matrix& train, int epoch, const TrainSettings& s,
                       const TrainProgress& progress = {});

// GENERATE, paired with ancestral sampling on the same h2 draws:
//   h2 ~ p(h2); ancestral x = g1(g2(h2));
//   generate: h1 = g2(h2), x = g1(h1), then `refine` times
//             (h1, h2) = INFERENCE(x) with `inference`; x = g1(h1).
struct GenerateSettings {
    Eigen::Index samples = 10000;
    int refine = 3;
    InferenceSettings inference{15, 0.1f, 0.3f};
    std::uint64_t seed = 1;
};
struct Samples {
    Matrix h2, x_ancestral, x_generate;
};
// `progress(done, total)` (optional) is called after every block of 1,000 samples.
Samples generate(const Model& m, const GenerateSettings& s,
                 const std::function<void(Eigen::Index, Eigen::Index)>& progress = {});

// In-painting: the pixels where `known` is false start as uniform noise
// (a stream keyed by seed), then `rounds` times (h1, h2) = INFERENCE(x) and
// the unknown pixels take g1(h1); known pixels stay.  Returns x after every
// round (rounds + 1 matrices, the first the corrupted input).
// `progress(done, total)` (optional) is called after every round, with total = rounds.
std::vector<Matrix> inpaint(const Model& m, const Matrix& x, const std::vector<bool>& known, int rounds,
                            const InferenceSettings& inference, std::uint64_t seed,
                            const std::function<void(Eigen::Index, Eigen::Index)>& progress = {});

// log p(x, h) of every column of x over INFERENCE: entry k after k iterations
// (k = 0..iterations).  `progress(done, total)` (optional) is called after
// every iteration, with total = iterations.
std::vector<LogJoint> inference_curve(const Model& m, const Matrix& x, int iterations, const InferenceSettings& s,
                                      const std::function<void(Eigen::Index, Eigen::Index)>& progress = {});

}  // namespace spikeem::vem
