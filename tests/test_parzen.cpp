// The Parzen-window log-likelihood (experiments/vem/parzen.hpp): distances and
// scores against naive loops in double written here, the stable logmeanexp
// where a naive one underflows, the closed form of one Gaussian, the choice
// of sigma, the paired gap, and the same bytes on 1 and 2 threads.
#include <doctest/doctest.h>
#include <tbb/global_control.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <numbers>
#include <random>
#include <vector>

#include "experiments/vem/parzen.hpp"

using namespace spikeem::vem;

namespace {

Matrix uniform(Eigen::Index rows, Eigen::Index cols, std::mt19937& rng) {
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    Matrix m(rows, cols);
    for (Eigen::Index c = 0; c < cols; ++c)
        for (Eigen::Index r = 0; r < rows; ++r) m(r, c) = u(rng);
    return m;
}

double naive_sq_dist(const Matrix& x, Eigen::Index q, const Matrix& mu, Eigen::Index c) {
    double s = 0;
    for (Eigen::Index k = 0; k < x.rows(); ++k) {
        const double diff = static_cast<double>(x(k, q)) - static_cast<double>(mu(k, c));
        s += diff * diff;
    }
    return s;
}

// log mean exp(-D / (2 sigma^2)) - d log(sigma sqrt(2 pi)), straight from the definition (no max subtracted).
double naive_parzen(const std::vector<double>& dist, double sigma, double d) {
    double s = 0;
    for (double v : dist) s += std::exp(-v / (2 * sigma * sigma));
    return std::log(s / static_cast<double>(dist.size())) - d * std::log(sigma * std::sqrt(2 * std::numbers::pi));
}

bool same_bytes(const Matrix& a, const Matrix& b) {
    return a.rows() == b.rows() && a.cols() == b.cols() &&
           std::memcmp(a.data(), b.data(), sizeof(float) * static_cast<std::size_t>(a.size())) == 0;
}

}  // namespace

TEST_CASE("Parzen: squared distances and log-likelihoods equal naive loops in double (random sizes)") {
    std::mt19937 rng(11);
    std::uniform_int_distribution<int> size(1, 60);
    for (int trial = 0; trial < 20; ++trial) {
        const Eigen::Index d = size(rng), nq = size(rng), nc = size(rng);
        CAPTURE(d);
        CAPTURE(nq);
        CAPTURE(nc);
        const Matrix x = uniform(d, nq, rng), mu = uniform(d, nc, rng);
        const Matrix D = squared_distances(x, mu);
        REQUIRE(D.rows() == nq);
        REQUIRE(D.cols() == nc);
        // Error bound of the float computation (u = 2^-24; a float dot product of d terms is within
        // about d u sum|terms| of the exact one, Higham's gamma_d, in any summation order, FMA or not):
        // with S = ||x||^2 + ||mu||^2, the two norms err by d u S together, 2 x.mu by d u S (as
        // 2 |x.mu| <= S), and the two additions of terms below 2S by 4 u S: (2d + 4) u S.  The check
        // allows 3 (d + 3) u S; a wrong formula (a missing term or factor) errs by O(S).
        const double u = std::ldexp(1.0, -24);
        for (Eigen::Index q = 0; q < nq; ++q)
            for (Eigen::Index c = 0; c < nc; ++c) {
                const double scale = x.col(q).cast<double>().squaredNorm() + mu.col(c).cast<double>().squaredNorm();
                const double tol = 3.0 * static_cast<double>(d + 3) * u * scale;
                CHECK(D(q, c) >= 0.0f);
                CHECK(std::abs(D(q, c) - naive_sq_dist(x, q, mu, c)) <= tol);
            }
        // The score of the float distances (exactly as given) against the naive logmeanexp in double:
        // sigma 0.5 keeps every exp far from underflow, so both are accurate to a few ulps of the
        // terms' magnitude (<= 60 / 0.5 nats here).
        const double sigma = 0.5;
        const ParzenScore s = parzen_log_likelihood(D, sigma, d);
        REQUIRE(s.per_example.size() == nq);
        std::vector<double> naive(nq);
        for (Eigen::Index q = 0; q < nq; ++q) {
            std::vector<double> row(nc);
            for (Eigen::Index c = 0; c < nc; ++c) row[c] = D(q, c);
            naive[q] = naive_parzen(row, sigma, static_cast<double>(d));
            CHECK(s.per_example(q) == doctest::Approx(naive[q]).epsilon(1e-12).scale(100));
        }
        double mean = 0;
        for (double v : naive) mean += v / static_cast<double>(nq);
        double ss = 0;
        for (double v : naive) ss += (v - mean) * (v - mean);
        CHECK(s.mean == doctest::Approx(mean).epsilon(1e-12).scale(100));
        if (nq >= 2) CHECK(s.se == doctest::Approx(std::sqrt(ss / (nq - 1) / nq)).epsilon(1e-9));
        else CHECK(std::isnan(s.se));
    }
}

TEST_CASE("Parzen: a query equal to a centre has distance 0, not a negative rounding error") {
    // ||mu||^2 + ||mu||^2 - 2 mu.mu cancels to a few rounding errors of either sign; without the clamp
    // about half of them would be negative.  Bound as in the test above, S = 2 ||mu||^2.
    std::mt19937 rng(3);
    const Eigen::Index d = 784;
    const Matrix mu = uniform(d, 20, rng);
    const Matrix D = squared_distances(mu, mu);
    for (Eigen::Index i = 0; i < mu.cols(); ++i) {
        CHECK(D(i, i) >= 0.0f);
        CHECK(D(i, i) <= (2 * d + 4) * std::ldexp(1.0, -24) * 2 * mu.col(i).cast<double>().squaredNorm());
    }
}

TEST_CASE("Parzen: huge distances, where every naive exp underflows, give the finite closed form") {
    // Two centres at squared distances 1e4 and 1e4 + 1 with sigma 0.1: exp(-5e5) is 0 in double.
    Matrix D(1, 2);
    D << 1e4f, 1e4f + 1.0f;
    const double sigma = 0.1;
    const Eigen::Index d = 784;
    REQUIRE(std::isinf(naive_parzen({1e4, 1e4 + 1}, sigma, d)));  // the premise: the naive form fails
    const ParzenScore s = parzen_log_likelihood(D, sigma, d);
    // log((e^-5e5 + e^-(5e5 + 50)) / 2) = -5e5 + log1p(e^-50) - log 2.
    const double want = -5e5 + std::log1p(std::exp(-50.0)) - std::log(2.0) -
                        d * std::log(sigma * std::sqrt(2 * std::numbers::pi));
    REQUIRE(std::isfinite(s.per_example(0)));
    CHECK(s.per_example(0) == doctest::Approx(want).epsilon(1e-14));
    CHECK(std::isnan(s.se));  // one query: no standard error
}

TEST_CASE("Parzen: one centre in one dimension is the Gaussian log-density") {
    // log N(x; mu, sigma^2) = -(x - mu)^2 / (2 sigma^2) - log(sigma sqrt(2 pi)).  The distance is
    // computed in float as x^2 + mu^2 - 2 x mu: error at most 6 u (x^2 + mu^2) <= 2.9e-6 for |x|,
    // |mu| <= 2 (the bound above with d = 1), which moves the score by at most
    // 2.9e-6 / (2 sigma^2) <= 6.4e-5 for sigma >= 0.15.
    const double sigmas[] = {0.15, 0.4, 1.0};
    const float points[][2] = {{0.3f, 0.7f}, {0.0f, 0.0f}, {-1.5f, 2.0f}, {1.25f, 1.0f}};
    for (double sigma : sigmas)
        for (const auto& p : points) {
            CAPTURE(sigma);
            CAPTURE(p[0]);
            Matrix x(1, 1), mu(1, 1);
            x << p[0];
            mu << p[1];
            const double dx = static_cast<double>(p[0]) - p[1];
            const double want = -dx * dx / (2 * sigma * sigma) - std::log(sigma * std::sqrt(2 * std::numbers::pi));
            const ParzenScore s = parzen_log_likelihood(squared_distances(x, mu), sigma, 1);
            CHECK(std::abs(s.per_example(0) - want) < 1e-4);
        }
}

TEST_CASE("Parzen: the default sigma grid") {
    const auto g = default_sigma_grid();
    CHECK(g.size() == 31);  // 19 coarse (0.10 ... 1.00) + 16 fine (0.15 ... 0.30) - 4 shared
    CHECK(g.front() == doctest::Approx(0.10));
    CHECK(g.back() == doctest::Approx(1.00));
    for (std::size_t i = 1; i < g.size(); ++i) CHECK(g[i] - g[i - 1] > 1e-9);
    int near_020 = 0, in_fine = 0;
    for (double s : g) {
        near_020 += std::abs(s - 0.20) < 1e-12;
        in_fine += s > 0.145 && s < 0.305;
    }
    CHECK(near_020 == 1);
    CHECK(in_fine == 16);
}

TEST_CASE("Parzen: choose_sigma takes the grid's best mean validation log-likelihood") {
    // One centre per query: the mean score is -mean(D) / (2 sigma^2) - d log sigma - const, highest
    // at sigma^2 = mean(D) / d.  With d = 2 and mean(D) = 0.08 that is sigma = 0.2.
    Matrix D(4, 1);
    D << 0.02f, 0.06f, 0.10f, 0.14f;
    const std::vector<double> grid{0.3, 0.1, 0.25, 0.2, 0.15};
    const SigmaChoice c = choose_sigma(D, 2, grid);
    CHECK(c.sigma == 0.2);
    CHECK(c.grid == grid);
    REQUIRE(c.ll.size() == grid.size());
    for (std::size_t k = 0; k < grid.size(); ++k) {
        const double s = grid[k];
        const double want = -0.08 / (2 * s * s) - 2 * std::log(s * std::sqrt(2 * std::numbers::pi));
        CHECK(c.ll[k] == doctest::Approx(want).epsilon(1e-6));
    }

    // Many centres: the argmax of the naive scores.
    std::mt19937 rng(5);
    const Matrix x = uniform(10, 40, rng), mu = uniform(10, 90, rng);
    const Matrix Dv = squared_distances(x, mu);
    const auto g = default_sigma_grid();
    std::size_t best = 0;
    std::vector<double> naive_ll;
    for (double s : g) {
        double sum = 0;
        for (Eigen::Index q = 0; q < Dv.rows(); ++q) {
            std::vector<double> row(Dv.cols());
            for (Eigen::Index k = 0; k < Dv.cols(); ++k) row[k] = Dv(q, k);
            sum += naive_parzen(row, s, 10);
        }
        naive_ll.push_back(sum / static_cast<double>(Dv.rows()));
        if (naive_ll.back() > naive_ll[best]) best = naive_ll.size() - 1;
    }
    REQUIRE(best > 0);
    REQUIRE(best + 1 < g.size());  // an interior maximum: the choice is not an edge by default
    CHECK(choose_sigma(Dv, 10, g).sigma == g[best]);

    // Ties go to the smaller sigma: with d = 0 and all distances 0 every sigma scores exactly 0.
    const SigmaChoice tie = choose_sigma(Matrix::Zero(3, 2), 0, {0.5, 0.3, 0.4});
    CHECK(tie.sigma == 0.3);
    CHECK(tie.ll == std::vector<double>{0.0, 0.0, 0.0});
    CHECK_THROWS_AS(choose_sigma(D, 2, {}), std::invalid_argument);
}

TEST_CASE("Parzen: paired_difference is the mean and standard error of the per-example gaps") {
    ParzenScore a, b;
    a.per_example = Eigen::VectorXd{{1.0, 2.0, 4.0, -1.0}};
    b.per_example = Eigen::VectorXd{{0.0, 0.0, 1.0, -1.0}};
    // Gaps 1, 2, 3, 0: mean 1.5, sample variance ((0.25 + 0.25 + 2.25 + 2.25) / 3) = 5/3, se = sqrt(5/3 / 4).
    const ParzenScore g = paired_difference(a, b);
    CHECK(g.per_example == Eigen::VectorXd{{1.0, 2.0, 3.0, 0.0}});
    CHECK(g.mean == doctest::Approx(1.5).epsilon(1e-15));
    CHECK(g.se == doctest::Approx(std::sqrt(5.0 / 12.0)).epsilon(1e-15));
    b.per_example.resize(3);
    CHECK_THROWS_AS(paired_difference(a, b), std::invalid_argument);
}

TEST_CASE("Parzen: bad arguments are refused") {
    CHECK_THROWS_AS(squared_distances(Matrix::Zero(3, 2), Matrix::Zero(4, 2)), std::invalid_argument);
    const Matrix D = Matrix::Ones(2, 2);
    CHECK_THROWS_AS(parzen_log_likelihood(D, 0.0, 1), std::invalid_argument);
    CHECK_THROWS_AS(parzen_log_likelihood(D, -0.1, 1), std::invalid_argument);
    CHECK_THROWS_AS(parzen_log_likelihood(D, std::numeric_limits<double>::quiet_NaN(), 1), std::invalid_argument);
    CHECK_THROWS_AS(parzen_log_likelihood(D, 0.2, -1), std::invalid_argument);
    CHECK_THROWS_AS(parzen_log_likelihood(Matrix(0, 3), 0.2, 1), std::invalid_argument);
    CHECK_THROWS_AS(parzen_log_likelihood(Matrix(3, 0), 0.2, 1), std::invalid_argument);
}

TEST_CASE("Parzen: the same bytes on 1 and 2 threads") {
    std::mt19937 rng(9);
    const Matrix x = uniform(50, 203, rng), mu = uniform(50, 150, rng);  // 203: several chunks and a short one
    Matrix D[2];
    Eigen::VectorXd ll[2];
    for (int t = 0; t < 2; ++t) {
        tbb::global_control limit(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(t + 1));
        D[t] = squared_distances(x, mu);
        ll[t] = parzen_log_likelihood(D[t], 0.3, 50).per_example;
    }
    CHECK(same_bytes(D[0], D[1]));
    REQUIRE(ll[0].size() == ll[1].size());
    CHECK(std::memcmp(ll[0].data(), ll[1].data(), sizeof(double) * static_cast<std::size_t>(ll[0].size())) == 0);
}
