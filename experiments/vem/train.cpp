#include "experiments/vem/train.hpp"

#include <tbb/parallel_invoke.h>

#include <chrono>
#include <limits>
#include <numeric>

#include "experiments/vem/chunks.hpp"
#include "sim/random.hpp"

namespace spikeem::vem {
namespace {

// A stream of draws for (seed, purpose, a, b): every random number of the
// generative experiment comes from one of these (no global generator).
RandomStream stream(std::uint64_t seed, std::string_view purpose, std::uint64_t a, std::uint64_t b) {
    return RandomStream(seed, stable_hash(purpose), a, b);
}

// x + N(0, std^2) elementwise; column c draws from its own stream (key, c).
Matrix gaussian_corrupt(const Matrix& x, float std_dev, std::uint64_t seed, std::string_view purpose, std::uint64_t key) {
    Matrix out = x;
    for (Eigen::Index c = 0; c < x.cols(); ++c) {
        RandomStream rng = stream(seed, purpose, key, static_cast<std::uint64_t>(c));
        for (Eigen::Index r = 0; r < x.rows(); ++r) out(r, c) += std_dev * static_cast<float>(rng.normal());
    }
    return out;
}

// The mean of `samples` Bernoulli(p) draws elementwise (p clamped to [0, 1]).
Matrix bernoulli_mean(const Matrix& p, int samples, std::uint64_t seed, std::uint64_t key) {
    Matrix out = Matrix::Zero(p.rows(), p.cols());
    for (Eigen::Index c = 0; c < p.cols(); ++c) {
        RandomStream rng = stream(seed, "spikeem/vem/bernoulli", key, static_cast<std::uint64_t>(c));
        for (Eigen::Index r = 0; r < p.rows(); ++r)
            for (int k = 0; k < samples; ++k) out(r, c) += rng.uniform() < p(r, c) ? 1.0f : 0.0f;
    }
    return out / static_cast<float>(samples);
}

void sgd(Map& map, const MapUpdate& u, float learning_rate) {
    map.W += learning_rate * u.dW;
    map.b += learning_rate * u.db;
}

}  // namespace

std::vector<double> m_step(Model& m, const Matrix& x, const Hidden& h, const TrainSettings& s, std::uint64_t key) {
    const Matrix x_c = gaussian_corrupt(x, s.corruption_x, s.seed, "spikeem/vem/corrupt_x", key);
    const Matrix h1_c = gaussian_corrupt(h.h1, s.corruption_h1, s.seed, "spikeem/vem/corrupt_h1", key);
    const Matrix h2_c = bernoulli_mean(h.h2, s.bernoulli_samples, s.seed, key);
    MapUpdate rec1, pred1, rec2, pred2;
    // The four maps learn independently (layer-local targets): in parallel, each deterministic.
    tbb::parallel_invoke([&] { rec1 = eq1_rate_update(m.g1, h1_c, x); },
                         [&] { pred1 = eq1_rate_update(m.f1, x_c, h.h1); },
                         [&] { rec2 = eq1_rate_update(m.g2, h2_c, h.h1); },
                         [&] { pred2 = eq1_rate_update(m.f2, h1_c, h.h2); });
    sgd(m.g1, rec1, s.learning_rate);
    sgd(m.f1, pred1, s.learning_rate);
    sgd(m.g2, rec2, s.learning_rate);
    sgd(m.f2, pred2, s.learning_rate);
    return {rec1.loss, pred1.loss, rec2.loss, pred2.loss};
}

namespace {

// The order of the training columns in `epoch`: Fisher-Yates with a stream keyed by the epoch.
std::vector<Eigen::Index> epoch_order(Eigen::Index n, int epoch, std::uint64_t seed) {
    std::vector<Eigen::Index> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), Eigen::Index{0});
    RandomStream rng = stream(seed, "spikeem/vem/shuffle", static_cast<std::uint64_t>(epoch), 0);
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
    return order;
}

Matrix columns(const Matrix& x, const std::vector<Eigen::Index>& order, std::size_t first, std::size_t count) {
    Matrix out(x.rows(), static_cast<Eigen::Index>(count));
    for (std::size_t k = 0; k < count; ++k) out.col(static_cast<Eigen::Index>(k)) = x.col(order[first + k]);
    return out;
}

}  // namespace

EpochStats train_epoch(Model& m, const Matrix& train, int epoch, const TrainSettings& s, const TrainProgress& progress) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<Eigen::Index> order = epoch_order(train.cols(), epoch, s.seed);
    const std::size_t batches = (order.size() + static_cast<std::size_t>(s.batch) - 1) / static_cast<std::size_t>(s.batch);
    EpochStats st;
    st.epoch = epoch;
    Matrix h2_all(m.n_h2(), train.cols());
    double log_p = 0;
    for (std::size_t b = 0; b < batches; ++b) {
        const std::size_t first = b * static_cast<std::size_t>(s.batch);
        const std::size_t count = std::min(static_cast<std::size_t>(s.batch), order.size() - first);
        const Matrix x = columns(train, order, first, count);
        const Hidden h = infer(m, x, s.inference);
        for (std::size_t k = 0; k < count; ++k) h2_all.col(order[first + k]) = h.h2.col(static_cast<Eigen::Index>(k));
        if (m.has_prior()) log_p += static_cast<double>(log_joint(m, x, h).total().sum());
        const std::uint64_t key = (static_cast<std::uint64_t>(epoch) << 32) | b;
        const std::vector<double> loss = m_step(m, x, h, s, key);
        const double w = 1.0 / static_cast<double>(b + 1);  // running means
        for (int l = 0; l < 2; ++l) {
            st.reconstruction[l] += (loss[2 * l] - st.reconstruction[l]) * w;
            st.prediction[l] += (loss[2 * l + 1] - st.prediction[l]) * w;
        }
        st.h1_norm += (h.h1.colwise().norm().mean() - st.h1_norm) * w;
        st.h2_norm += (h.h2.colwise().norm().mean() - st.h2_norm) * w;
        st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        st.examples_per_s = static_cast<double>(first + count) / st.seconds;
        if (progress) progress(epoch, static_cast<Eigen::Index>(b + 1), static_cast<Eigen::Index>(batches), st);
    }
    st.log_p_xh = m.has_prior() ? log_p / static_cast<double>(train.cols()) : std::numeric_limits<double>::quiet_NaN();
    fit_prior(m, h2_all, s.prior_var_scale);
    return st;
}

namespace {

// h2 ~ N(prior_mean, diag(prior_var)), column c from stream (seed, c).
Matrix sample_prior(const Model& m, Eigen::Index n, std::uint64_t seed) {
    Matrix h2(m.n_h2(), n);
    const Vector sd = m.prior_var.cwiseSqrt();
    for (Eigen::Index c = 0; c < n; ++c) {
        RandomStream rng = stream(seed, "spikeem/vem/prior", static_cast<std::uint64_t>(c), 0);
        for (Eigen::Index r = 0; r < m.n_h2(); ++r) h2(r, c) = m.prior_mean(r) + sd(r) * static_cast<float>(rng.normal());
    }
    return h2;
}

}  // namespace

Samples generate(const Model& m, const GenerateSettings& s,
                 const std::function<void(Eigen::Index, Eigen::Index)>& progress) {
    Samples out;
    out.h2 = sample_prior(m, s.samples, s.seed);
    out.x_ancestral.resize(m.n_x(), s.samples);
    out.x_generate.resize(m.n_x(), s.samples);
    // Blocks of whole chunks, one after the other: the chunks are those of one
    // for_chunks over all samples, so the blocks change nothing but the progress.
    constexpr Eigen::Index kBlock = 40 * kChunk;
    for (Eigen::Index b0 = 0; b0 < s.samples; b0 += kBlock) {
        const Eigen::Index nb = std::min(kBlock, s.samples - b0);
        for_chunks(nb, [&](Eigen::Index c0, Eigen::Index n) {
            c0 += b0;
            Hidden h{m.g2(out.h2.middleCols(c0, n)), out.h2.middleCols(c0, n)};
            Matrix x = m.g1(h.h1);
            out.x_ancestral.middleCols(c0, n) = x;
            for (int r = 0; r < s.refine; ++r) {
                h = infer_start(m, x);
                const Matrix f1x = h.h1;
                for (int k = 0; k < s.inference.steps; ++k) infer_step(m, f1x, h, s.inference);
                x = m.g1(h.h1);
            }
            out.x_generate.middleCols(c0, n) = x;
        });
        if (progress) progress(b0 + nb, s.samples);
    }
    return out;
}

std::vector<Matrix> inpaint(const Model& m, const Matrix& x, const std::vector<bool>& known, int rounds,
                            const InferenceSettings& inference, std::uint64_t seed,
                            const std::function<void(Eigen::Index, Eigen::Index)>& progress) {
    Matrix cur = x;
    for (Eigen::Index c = 0; c < x.cols(); ++c) {
        RandomStream rng = stream(seed, "spikeem/vem/inpaint", static_cast<std::uint64_t>(c), 0);
        for (Eigen::Index r = 0; r < x.rows(); ++r)
            if (!known[static_cast<std::size_t>(r)]) cur(r, c) = static_cast<float>(rng.uniform());
    }
    std::vector<Matrix> out{cur};
    for (int k = 0; k < rounds; ++k) {
        const Matrix guess = m.g1(infer(m, cur, inference).h1);
        for (Eigen::Index r = 0; r < x.rows(); ++r)
            if (!known[static_cast<std::size_t>(r)]) cur.row(r) = guess.row(r);
        out.push_back(cur);
        if (progress) progress(k + 1, rounds);
    }
    return out;
}

std::vector<LogJoint> inference_curve(const Model& m, const Matrix& x, int iterations, const InferenceSettings& s,
                                      const std::function<void(Eigen::Index, Eigen::Index)>& progress) {
    Hidden h{Matrix(m.n_h1(), x.cols()), Matrix(m.n_h2(), x.cols())};
    Matrix f1x(m.n_h1(), x.cols());
    // The same chunks as infer(), so the end point equals infer(m, x, s) with s.steps = iterations.
    auto each_chunk = [&](auto&& step) {
        for_chunks(x.cols(), [&](Eigen::Index c0, Eigen::Index n) {
            Hidden part{h.h1.middleCols(c0, n), h.h2.middleCols(c0, n)};
            step(part, c0, n);
            h.h1.middleCols(c0, n) = part.h1;
            h.h2.middleCols(c0, n) = part.h2;
        });
    };
    each_chunk([&](Hidden& part, Eigen::Index c0, Eigen::Index n) {
        part = infer_start(m, x.middleCols(c0, n));
        f1x.middleCols(c0, n) = part.h1;
    });
    std::vector<LogJoint> out{log_joint(m, x, h)};
    for (int k = 0; k < iterations; ++k) {
        each_chunk([&](Hidden& part, Eigen::Index c0, Eigen::Index n) { infer_step(m, f1x.middleCols(c0, n), part, s); });
        out.push_back(log_joint(m, x, h));
        if (progress) progress(k + 1, iterations);
    }
    return out;
}

}  // namespace spikeem::vem
