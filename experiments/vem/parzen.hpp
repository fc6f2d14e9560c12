#pragma once
// The Parzen-window estimate of log-likelihood, the standard score of
// generative models of images (Breuleux, Bengio & Vincent, 2011; used by
// Goodfellow et al., 2014): the model's samples mu_1..mu_N are the centres of
// isotropic Gaussians of width sigma, and a test digit x scores
//     log p(x) = logmeanexp_i(-||x - mu_i||^2 / (2 sigma^2)) - d log(sigma sqrt(2 pi))
// in nats (d = pixels).  sigma is chosen on validation digits, the score is
// reported on test digits with its standard error over them.
//
// Matrices hold one example per column (as everywhere in experiments/vem/).
#include <Eigen/Core>

#include <functional>
#include <vector>

#include "experiments/vem/model.hpp"

namespace spikeem::vem {

// ||x_q - mu_c||^2 for every query column q and centre column c: a
// n_queries x n_centres matrix, computed as ||x||^2 + ||mu||^2 - 2 x^T mu
// (matrix products; float), clamped at 0 (the cancellation can make a
// distance of 0 slightly negative).  The cancellation costs accuracy: at
// most (2d + 4) 2^-24 (||x||^2 + ||mu||^2), and 3e-4 at worst on 100 x 1000
// Fashion-MNIST digits against double, which moves a Parzen score by at most
// 3e-4 / (2 sigma^2) = 0.004 nats at sigma = 0.2.  The queries run
// in fixed chunks of kChunk (for_chunks), so the result is the same for any
// thread count.  queries and centres must have the same number of rows
// (std::invalid_argument otherwise).
Matrix squared_distances(const Matrix& queries, const Matrix& centres);

// The score of a set of queries: per_example(q) is query q's log p (nats),
// mean its mean, se the standard error of the mean (sample standard
// deviation / sqrt(n); NaN when n < 2).
struct ParzenScore {
    double mean = 0, se = 0;
    Eigen::VectorXd per_example;
};

// The Parzen log-likelihood of every row of sq_dist (a squared_distances
// result: queries x centres) with window sigma in d dimensions.  The
// logmeanexp runs in double and subtracts each row's largest term first, so
// it stays finite when every exp(-D / (2 sigma^2)) underflows.  Rows run in
// parallel over fixed chunks, each row's sum in column order: the same
// result for any thread count.  sigma must be finite and > 0, d >= 0, and
// sq_dist must have at least one row and one column (std::invalid_argument).
ParzenScore parzen_log_likelihood(const Matrix& sq_dist, double sigma, Eigen::Index d);

// The sigmas tried by default: 0.10 to 1.00 in steps of 0.05, and 0.15 to
// 0.30 in steps of 0.01 where MNIST's best sigma usually lies (about 0.2);
// sorted, without duplicates (31 values).
std::vector<double> default_sigma_grid();

// The grid and the mean validation log-likelihood at each of its sigmas
// (ll[k] at grid[k], in the grid's order), and the sigma with the highest;
// of equal ones the smaller sigma.
struct SigmaChoice {
    double sigma = 0;
    std::vector<double> grid, ll;
};
// grid must not be empty (std::invalid_argument); each entry as for
// parzen_log_likelihood.  `progress(done, total)` (optional) is called after
// each sigma's pass over the rows, with total = grid.size(); it changes nothing
// but the progress.
SigmaChoice choose_sigma(const Matrix& sq_dist_validation, Eigen::Index d, const std::vector<double>& grid,
                         const std::function<void(Eigen::Index, Eigen::Index)>& progress = {});

// The paired gap a - b on the same queries: per-example differences, their
// mean and standard error (sd of the differences / sqrt(n)), which is smaller
// than the two scores' own errors when they move together across digits.
// a and b must have the same number of examples (std::invalid_argument).
// Mean and standard error (sample sd / sqrt(n); NaN for fewer than two values) of per-example values.
ParzenScore mean_and_se(Eigen::VectorXd per_example);

ParzenScore paired_difference(const ParzenScore& a, const ParzenScore& b);

}  // namespace spikeem::vem
