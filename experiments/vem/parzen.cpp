#include "experiments/vem/parzen.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>

#include "experiments/vem/chunks.hpp"

namespace spikeem::vem {

Matrix squared_distances(const Matrix& queries, const Matrix& centres) {
    if (queries.rows() != centres.rows())
        throw std::invalid_argument("squared_distances: queries have " + std::to_string(queries.rows()) +
                                    " rows, centres " + std::to_string(centres.rows()) + ": expected the same dimension");
    const Eigen::RowVectorXf centre_norm = centres.colwise().squaredNorm();
    Matrix out(queries.cols(), centres.cols());
    for_chunks(queries.cols(), [&](Eigen::Index q0, Eigen::Index n) {
        const Matrix xc = queries.middleCols(q0, n);
        const Eigen::VectorXf query_norm = xc.colwise().squaredNorm().transpose();
        // n x n_centres in one product; then the norms, in place.
        Matrix block(n, centres.cols());
        block.noalias() = xc.transpose() * centres;
        block = ((block * -2.0f).colwise() + query_norm).rowwise() + centre_norm;
        out.middleRows(q0, n) = block.cwiseMax(0.0f);
    });
    return out;
}

namespace {

void check_sigma(double sigma) {
    if (!(std::isfinite(sigma) && sigma > 0))
        throw std::invalid_argument("Parzen window sigma " + std::to_string(sigma) + ": expected a finite value > 0");
}

}  // namespace

ParzenScore mean_and_se(Eigen::VectorXd per_example) {
    ParzenScore s;
    s.per_example = std::move(per_example);
    const auto n = s.per_example.size();
    s.mean = s.per_example.mean();
    if (n < 2) {
        s.se = std::numeric_limits<double>::quiet_NaN();
        return s;
    }
    const double ss = (s.per_example.array() - s.mean).square().sum();
    s.se = std::sqrt(ss / static_cast<double>(n - 1)) / std::sqrt(static_cast<double>(n));
    return s;
}

ParzenScore parzen_log_likelihood(const Matrix& sq_dist, double sigma, Eigen::Index d) {
    check_sigma(sigma);
    if (d < 0) throw std::invalid_argument("Parzen log-likelihood: dimension " + std::to_string(d) + ", expected >= 0");
    if (sq_dist.rows() < 1 || sq_dist.cols() < 1)
        throw std::invalid_argument("Parzen log-likelihood: " + std::to_string(sq_dist.rows()) + " queries x " +
                                    std::to_string(sq_dist.cols()) + " centres, expected at least one of each");
    const Eigen::Index nc = sq_dist.cols();
    const double scale = -1.0 / (2.0 * sigma * sigma);
    const double norm = static_cast<double>(d) * std::log(sigma * std::sqrt(2.0 * std::numbers::pi)) +
                        std::log(static_cast<double>(nc));
    Eigen::VectorXd ll(sq_dist.rows());
    for_chunks(sq_dist.rows(), [&](Eigen::Index r0, Eigen::Index n) {
        // The largest term of a row is its smallest distance.  Columns outer,
        // the chunk's rows inner: the matrix is column-major.
        const Eigen::VectorXd top = sq_dist.middleRows(r0, n).rowwise().minCoeff().cast<double>() * scale;
        Eigen::VectorXd sum = Eigen::VectorXd::Zero(n);
        for (Eigen::Index c = 0; c < nc; ++c)
            for (Eigen::Index r = 0; r < n; ++r)
                sum(r) += std::exp(static_cast<double>(sq_dist(r0 + r, c)) * scale - top(r));
        ll.segment(r0, n) = top.array() + sum.array().log() - norm;
    });
    return mean_and_se(std::move(ll));
}

std::vector<double> default_sigma_grid() {
    // In hundredths, so that shared points (0.15, 0.20, ...) are the same double.
    std::vector<double> grid;
    for (int h = 10; h <= 100; h += 5) grid.push_back(h / 100.0);
    for (int h = 15; h <= 30; ++h) grid.push_back(h / 100.0);
    std::sort(grid.begin(), grid.end());
    grid.erase(std::unique(grid.begin(), grid.end(), [](double a, double b) { return std::abs(a - b) < 1e-9; }),
               grid.end());
    return grid;
}

SigmaChoice choose_sigma(const Matrix& sq_dist_validation, Eigen::Index d, const std::vector<double>& grid,
                         const std::function<void(Eigen::Index, Eigen::Index)>& progress) {
    if (grid.empty()) throw std::invalid_argument("choose_sigma: empty grid of sigmas");
    SigmaChoice c;
    c.grid = grid;
    const auto total = static_cast<Eigen::Index>(grid.size());
    double best = -std::numeric_limits<double>::infinity();
    for (double sigma : grid) {
        const double ll = parzen_log_likelihood(sq_dist_validation, sigma, d).mean;
        c.ll.push_back(ll);
        if (c.ll.size() == 1 || ll > best || (ll == best && sigma < c.sigma)) {
            best = ll;
            c.sigma = sigma;
        }
        if (progress) progress(static_cast<Eigen::Index>(c.ll.size()), total);
    }
    return c;
}

ParzenScore paired_difference(const ParzenScore& a, const ParzenScore& b) {
    if (a.per_example.size() != b.per_example.size() || a.per_example.size() == 0)
        throw std::invalid_argument("paired_difference: " + std::to_string(a.per_example.size()) + " and " +
                                    std::to_string(b.per_example.size()) +
                                    " examples, expected the same (non-zero) number: the same queries");
    return mean_and_se(a.per_example - b.per_example);
}

}  // namespace spikeem::vem
