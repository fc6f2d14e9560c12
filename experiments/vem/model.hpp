#pragma once
// The generative model of variational EM on images (docs/generative.md):
// x (pixels in [0, 1]) - h1 (softplus units) - h2 (sigmoid units), with
// encoders f1: x -> h1, f2: h1 -> h2 and decoders g2: h2 -> h1, g1: h1 -> x,
// every map y = act(W pre + b).  Unit conditional variances:
//   log p(x, h) = log N(x; g1(h1), I) + log N(h1; g2(h2), I) + log N(h2; mu, diag(var)).
//
// Matrices hold one example per column (Eigen, column-major, float).  Work on
// many examples is split into fixed chunks of kChunk columns that run in
// parallel (TBB); each column's result depends only on its chunk's content,
// so every output is the same for any thread count.
#include <Eigen/Dense>

#include <cstdint>

namespace spikeem::vem {

using Matrix = Eigen::MatrixXf;
using Vector = Eigen::VectorXf;

// Examples per chunk of parallel work.  Fixed: it shapes the matrix products,
// so results depend on it (and on nothing about threads).
inline constexpr Eigen::Index kChunk = 25;

enum class Activation { softplus, sigmoid };
const char* activation_name(Activation a);

// y = act(W pre + b); W is out x in.
struct Map {
    Matrix W;
    Vector b;
    Activation act = Activation::sigmoid;

    Eigen::Index in() const { return W.cols(); }
    Eigen::Index out() const { return W.rows(); }
    Matrix pre_activation(const Matrix& x) const;  // W x + b
    Matrix operator()(const Matrix& x) const;      // act(W x + b)
};

// act applied elementwise in place, and its derivative at the pre-activation a.
void apply(Activation act, Matrix& a);
Matrix derivative(Activation act, const Matrix& a);

struct Model {
    Map f1, f2, g2, g1;
    // p(h2) = N(prior_mean, diag(prior_var)); empty until fit_prior.
    Vector prior_mean, prior_var;

    Eigen::Index n_x() const { return f1.in(); }
    Eigen::Index n_h1() const { return f1.out(); }
    Eigen::Index n_h2() const { return f2.out(); }
    bool has_prior() const { return prior_mean.size() == n_h2(); }
};

struct InitSettings {
    Eigen::Index n_x = 784, n_h1 = 1000, n_h2 = 100;
    std::uint64_t seed = 1;
    // g1's biases start at the logit of the mean training pixel (clamped to
    // [0.01, 0.99]) when given; empty: zero.
    Vector pixel_mean;
};

// Weights N(0, 1 / fan_in) from spikeem's Philox streams (keyed by the seed
// and the map), biases 0 except g1's (see InitSettings); h1 maps softplus,
// h2 and x maps sigmoid.
Model init_model(const InitSettings& s);

// INFERENCE (the E-step, gradient ascent of h on its objective):
//   repeat steps: h2 += delta (f2(h1) - f2(g2(h2)))
//                 h1 += delta (f1(x) - f1(g1(h1))) + alpha (g2(h2) - h1)
// from h1 = f1(x), h2 = f2(h1); h2's step uses the h1 before the iteration,
// h1's uses the h2 after it.
struct InferenceSettings {
    int steps = 15;
    float delta = 0.1f;
    float alpha = 0.001f;
};

struct Hidden {
    Matrix h1, h2;
};

Hidden infer_start(const Model& m, const Matrix& x);
// One iteration on every column; f1x = f1(x) (constant during inference).
void infer_step(const Model& m, const Matrix& f1x, Hidden& h, const InferenceSettings& s);
// The whole INFERENCE, chunked and parallel.
Hidden infer(const Model& m, const Matrix& x, const InferenceSettings& s);

// log p(x, h) per example, by term (natural log, nats; constants included).
struct LogJoint {
    Vector x_given_h1, h1_given_h2, h2;  // h2: zero when the model has no prior
    Vector total() const { return x_given_h1 + h1_given_h2 + h2; }
};
LogJoint log_joint(const Model& m, const Matrix& x, const Hidden& h);

// The M-step of one map as Eq. 1 in rate form: the map's units sit at their
// prediction y = act(a), a = W pre + b; the target t moves each unit's
// voltage a by
//     delta = (t - y) act'(a)                 (to first order in t - y)
// and every synapse changes by presynaptic rate times that move,
//     dW = delta pre^T / B,  db = mean of delta over the B examples,
// which is minus the gradient of the loss 1/(2B) sum ||t - y||^2 (checked
// by finite differences in tests/test_vem.cpp).
struct MapUpdate {
    Matrix dW;
    Vector db;
    double loss = 0;  // 1/(2B) sum ||t - y||^2 before the step
};
MapUpdate eq1_rate_update(const Map& map, const Matrix& pre, const Matrix& target);
double squared_loss(const Map& map, const Matrix& pre, const Matrix& target);  // 1/(2B) sum ||t - y||^2

// Sum of the elementwise products of a and b, accumulated in double, and the
// cosine of the angle between them as flat vectors (0 if either is zero):
// how the spiking M-step is compared with the rate-based one.
double dot(const Matrix& a, const Matrix& b);
double cosine(const Matrix& a, const Matrix& b);

// The empirical prior of h2: mean and var_scale x the variance (per unit)
// of `h2` (one example per column).
void fit_prior(Model& m, const Matrix& h2, float var_scale);

}  // namespace spikeem::vem
