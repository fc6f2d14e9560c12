// The variational-EM model (experiments/vem): the M-step against finite
// differences, INFERENCE raising the objective on a trained model, and
// determinism for any thread count.  Data: small stroke images made here.
#include <doctest/doctest.h>
#include <tbb/global_control.h>

#include <cmath>
#include <cstring>

#include "experiments/vem/strokes.hpp"
#include "experiments/vem/train.hpp"
#include "sim/random.hpp"
#include "stats.hpp"

using namespace spikeem;
using namespace spikeem::vem;

namespace {

Model small_model(std::uint64_t seed, const Matrix& train) {
    InitSettings init;
    init.n_x = train.rows();
    init.n_h1 = 96;
    init.n_h2 = 12;
    init.seed = seed;
    init.pixel_mean = train.rowwise().mean();
    return init_model(init);
}

// A small model trained on stroke images (cached: several tests use it).
const Model& trained_model() {
    static const Model m = [] {
        const Matrix train = stroke_images(600, 8, 1);
        Model model = small_model(3, train);
        TrainSettings s;
        s.batch = 50;
        for (int e = 1; e <= 20; ++e) train_epoch(model, train, e, s);
        return model;
    }();
    return m;
}

// Central finite difference of the map's squared loss in one weight (double accumulation in the loss).
double numeric_dW(Map map, const Matrix& pre, const Matrix& target, Eigen::Index r, Eigen::Index c, float eps) {
    const float w = map.W(r, c);
    map.W(r, c) = w + eps;
    const double up = squared_loss(map, pre, target);
    map.W(r, c) = w - eps;
    const double down = squared_loss(map, pre, target);
    return (up - down) / (2.0 * eps);
}

bool same_bytes(const Matrix& a, const Matrix& b) {
    return a.rows() == b.rows() && a.cols() == b.cols() &&
           std::memcmp(a.data(), b.data(), sizeof(float) * static_cast<std::size_t>(a.size())) == 0;
}

}  // namespace

TEST_CASE("the M-step (Eq. 1 in rate form) is minus the gradient of the squared loss") {
    for (Activation act : {Activation::softplus, Activation::sigmoid}) {
        CAPTURE(activation_name(act));
        Map map;
        map.act = act;
        map.W = Matrix::Random(5, 7) * 0.5f;
        map.b = Vector::Random(5) * 0.3f;
        const Matrix pre = Matrix::Random(7, 9);
        const Matrix target = (Matrix::Random(5, 9).array() + 1.5f).matrix();
        const MapUpdate u = eq1_rate_update(map, pre, target);
        CHECK(u.loss == doctest::Approx(squared_loss(map, pre, target)).epsilon(1e-6));
        // Float finite differences: step 1e-2 leaves a truncation error of order
        // 1e-4 (the loss is smooth) and a rounding error of order 1e-7 loss / 1e-2;
        // 1e-3 of the largest gradient entry bounds both.
        const float scale = u.dW.cwiseAbs().maxCoeff();
        for (Eigen::Index r = 0; r < 5; ++r)
            for (Eigen::Index c = 0; c < 7; ++c)
                CHECK(std::abs(-numeric_dW(map, pre, target, r, c, 1e-2f) - u.dW(r, c)) < 1e-3 * scale + 1e-6);
        for (Eigen::Index r = 0; r < 5; ++r) {
            Map up = map, down = map;
            up.b(r) += 1e-2f;
            down.b(r) -= 1e-2f;
            const double g = (squared_loss(up, pre, target) - squared_loss(down, pre, target)) / 2e-2;
            CHECK(std::abs(-g - u.db(r)) < 1e-3 * scale + 1e-6);
        }
    }
}

TEST_CASE("training lowers the reconstruction loss of stroke images") {
    const Matrix train = stroke_images(600, 8, 1);
    Model m = small_model(3, train);
    TrainSettings s;
    s.batch = 50;
    const EpochStats first = train_epoch(m, train, 1, s);
    EpochStats last;
    for (int e = 2; e <= 10; ++e) last = train_epoch(m, train, e, s);
    // Measured: 5.14 after epoch 1, 4.27 after epoch 10 (seeded; deterministic).
    CHECK(last.reconstruction[0] < 0.9 * first.reconstruction[0]);
    CHECK(m.has_prior());
    CHECK(std::isfinite(last.log_p_xh));
}

TEST_CASE("INFERENCE raises log p(x | h1) on average, and log p(x, h) at the GENERATE setting") {
    const Model& m = trained_model();
    const Matrix x = stroke_images(400, 8, 99);  // digits the model was not trained on
    // Paired one-sided z-test over the 400 digits at alpha = 0.001 (z > 3.09):
    // the mean change divided by its standard error.
    auto z_of_change = [](const Vector& before, const Vector& after) {
        const Eigen::VectorXd d = (after - before).cast<double>();
        const double mean = d.mean();
        const double sd = std::sqrt((d.array() - mean).square().sum() / static_cast<double>(d.size() - 1));
        return mean / (sd / std::sqrt(static_cast<double>(d.size())));
    };
    const std::vector<LogJoint> train_alpha = inference_curve(m, x, 15, InferenceSettings{});
    CHECK(z_of_change(train_alpha.front().x_given_h1, train_alpha.back().x_given_h1) > 3.09);
    const std::vector<LogJoint> gen_alpha = inference_curve(m, x, 15, InferenceSettings{15, 0.1f, 0.3f});
    CHECK(z_of_change(gen_alpha.front().total(), gen_alpha.back().total()) > 3.09);
}

TEST_CASE("inference_curve ends where infer does") {
    const Model& m = trained_model();
    const Matrix x = stroke_images(60, 8, 5);
    const InferenceSettings s{15, 0.1f, 0.001f};
    const Hidden h = infer(m, x, s);
    const LogJoint end = log_joint(m, x, h);
    const std::vector<LogJoint> curve = inference_curve(m, x, 15, s);
    CHECK(same_bytes(curve.back().total(), end.total()));
}

TEST_CASE("GENERATE, INFERENCE and training are the same bytes for 1 and 2 threads") {
    const Matrix train = stroke_images(200, 8, 2);
    auto run = [&](int threads) {
        tbb::global_control limit(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(threads));
        Model m = small_model(4, train);
        TrainSettings s;
        s.batch = 50;
        for (int e = 1; e <= 2; ++e) train_epoch(m, train, e, s);
        GenerateSettings g;
        g.samples = 120;
        g.seed = 9;
        return std::make_pair(m, generate(m, g));
    };
    const auto [m1, s1] = run(1);
    const auto [m2, s2] = run(2);
    CHECK(same_bytes(m1.g1.W, m2.g1.W));
    CHECK(same_bytes(m1.f1.W, m2.f1.W));
    CHECK(same_bytes(s1.x_generate, s2.x_generate));
    CHECK(same_bytes(s1.x_ancestral, s2.x_ancestral));
    // Another seed gives other samples.
    GenerateSettings g;
    g.samples = 120;
    g.seed = 10;
    CHECK_FALSE(same_bytes(generate(m1, g).x_generate, s1.x_generate));
}

TEST_CASE("the fitted prior has the empirical mean and the scaled variance") {
    Model m = small_model(1, stroke_images(10, 8, 1));
    Matrix h2(2, 4);
    h2 << 0, 1, 2, 3, 1, 1, 1, 1;
    fit_prior(m, h2, 4.0f);
    CHECK(m.prior_mean(0) == doctest::Approx(1.5));
    CHECK(m.prior_var(0) == doctest::Approx(4.0 * 1.25));  // population variance of 0..3
    CHECK(m.prior_var(1) == doctest::Approx(4.0 * 1e-6));  // floored: a constant unit
}
