#include "experiments/vem/model.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "experiments/vem/chunks.hpp"
#include "sim/random.hpp"

namespace spikeem::vem {

const char* activation_name(Activation a) { return a == Activation::softplus ? "softplus" : "sigmoid"; }

void apply(Activation act, Matrix& a) {
    if (act == Activation::softplus)
        // log(1 + e^a) without overflow: max(a, 0) + log1p(e^-|a|).
        a = a.unaryExpr([](float v) { return std::max(v, 0.0f) + std::log1p(std::exp(-std::abs(v))); });
    else
        a = a.unaryExpr([](float v) { return 1.0f / (1.0f + std::exp(-v)); });
}

Matrix derivative(Activation act, const Matrix& a) {
    Matrix s = a.unaryExpr([](float v) { return 1.0f / (1.0f + std::exp(-v)); });
    if (act == Activation::softplus) return s;  // softplus' = sigmoid
    return s.array() * (1.0f - s.array());
}

Matrix Map::pre_activation(const Matrix& x) const {
    Matrix a = W * x;
    a.colwise() += b;
    return a;
}

Matrix Map::operator()(const Matrix& x) const {
    Matrix a = pre_activation(x);
    apply(act, a);
    return a;
}

namespace {

Map random_map(Eigen::Index out, Eigen::Index in, Activation act, std::uint64_t seed, std::string_view name) {
    Map m;
    m.act = act;
    m.W.resize(out, in);
    m.b = Vector::Zero(out);
    const float scale = 1.0f / std::sqrt(static_cast<float>(in));
    // One stream per output row: the draws do not depend on the matrix's storage order.
    for (Eigen::Index r = 0; r < out; ++r) {
        RandomStream rng(seed, stable_hash("spikeem/vem/init"), stable_hash(name), static_cast<std::uint64_t>(r));
        for (Eigen::Index c = 0; c < in; ++c) m.W(r, c) = scale * static_cast<float>(rng.normal());
    }
    return m;
}

}  // namespace

Model init_model(const InitSettings& s) {
    Model m;
    m.f1 = random_map(s.n_h1, s.n_x, Activation::softplus, s.seed, "f1");
    m.f2 = random_map(s.n_h2, s.n_h1, Activation::sigmoid, s.seed, "f2");
    m.g2 = random_map(s.n_h1, s.n_h2, Activation::softplus, s.seed, "g2");
    m.g1 = random_map(s.n_x, s.n_h1, Activation::sigmoid, s.seed, "g1");
    if (s.pixel_mean.size() == s.n_x)
        m.g1.b = s.pixel_mean.unaryExpr([](float p) {
            const float q = std::clamp(p, 0.01f, 0.99f);
            return std::log(q / (1.0f - q));
        });
    return m;
}

Hidden infer_start(const Model& m, const Matrix& x) {
    Hidden h;
    h.h1 = m.f1(x);
    h.h2 = m.f2(h.h1);
    return h;
}

void infer_step(const Model& m, const Matrix& f1x, Hidden& h, const InferenceSettings& s) {
    const Matrix dh2 = m.f2(h.h1) - m.f2(m.g2(h.h2));
    h.h2 += s.delta * dh2;
    const Matrix dh1 = f1x - m.f1(m.g1(h.h1));
    h.h1 += s.delta * dh1 + s.alpha * (m.g2(h.h2) - h.h1);
}

Hidden infer(const Model& m, const Matrix& x, const InferenceSettings& s) {
    Hidden out{Matrix(m.n_h1(), x.cols()), Matrix(m.n_h2(), x.cols())};
    for_chunks(x.cols(), [&](Eigen::Index c0, Eigen::Index n) {
        const Matrix xc = x.middleCols(c0, n);
        Hidden h = infer_start(m, xc);
        const Matrix f1x = h.h1;
        for (int k = 0; k < s.steps; ++k) infer_step(m, f1x, h, s);
        out.h1.middleCols(c0, n) = h.h1;
        out.h2.middleCols(c0, n) = h.h2;
    });
    return out;
}

namespace {

// log N(x; mu, I) per column.
Vector log_normal_unit(const Matrix& x, const Matrix& mu) {
    const float c = -0.5f * static_cast<float>(x.rows()) * std::log(2.0f * std::numbers::pi_v<float>);
    return ((x - mu).colwise().squaredNorm().array() * -0.5f + c).matrix().transpose();
}

}  // namespace

LogJoint log_joint(const Model& m, const Matrix& x, const Hidden& h) {
    LogJoint lj;
    lj.x_given_h1 = Vector(x.cols());
    lj.h1_given_h2 = Vector(x.cols());
    lj.h2 = Vector::Zero(x.cols());
    for_chunks(x.cols(), [&](Eigen::Index c0, Eigen::Index n) {
        lj.x_given_h1.segment(c0, n) = log_normal_unit(x.middleCols(c0, n), m.g1(h.h1.middleCols(c0, n)));
        lj.h1_given_h2.segment(c0, n) = log_normal_unit(h.h1.middleCols(c0, n), m.g2(h.h2.middleCols(c0, n)));
    });
    if (m.has_prior()) {
        const Vector inv_var = m.prior_var.cwiseInverse();
        const float c = -0.5f * (m.prior_var.array() * (2.0f * std::numbers::pi_v<float>)).log().sum();
        const Matrix z = h.h2.colwise() - m.prior_mean;
        lj.h2 = ((z.array().square().colwise() * inv_var.array()).colwise().sum() * -0.5f + c).matrix().transpose();
    }
    return lj;
}

double squared_loss(const Map& map, const Matrix& pre, const Matrix& target) {
    return 0.5 * static_cast<double>((target - map(pre)).squaredNorm()) / static_cast<double>(pre.cols());
}

MapUpdate eq1_rate_update(const Map& map, const Matrix& pre, const Matrix& target) {
    const Matrix a = map.pre_activation(pre);
    Matrix y = a;
    apply(map.act, y);
    const float inv_b = 1.0f / static_cast<float>(pre.cols());
    // The postsynaptic move: from the prediction toward the target, in voltage units.
    const Matrix delta = ((target - y).array() * derivative(map.act, a).array()).matrix();
    MapUpdate u;
    u.loss = 0.5 * static_cast<double>((target - y).squaredNorm()) * inv_b;
    u.dW.noalias() = inv_b * delta * pre.transpose();
    u.db = delta.rowwise().sum() * inv_b;
    return u;
}

double dot(const Matrix& a, const Matrix& b) { return (a.cast<double>().array() * b.cast<double>().array()).sum(); }

double cosine(const Matrix& a, const Matrix& b) {
    const double n = std::sqrt(dot(a, a) * dot(b, b));
    return n > 0 ? dot(a, b) / n : 0.0;
}

void fit_prior(Model& m, const Matrix& h2, float var_scale) {
    // Two passes in double: float sums of 10^4 squares lose digits.
    const Eigen::MatrixXd d = h2.cast<double>();
    const Eigen::VectorXd mean = d.rowwise().mean();
    const Eigen::VectorXd var = (d.colwise() - mean).array().square().rowwise().mean();
    m.prior_mean = mean.cast<float>();
    m.prior_var = (var_scale * var.array().max(1e-6)).matrix().cast<float>();
}

}  // namespace spikeem::vem
