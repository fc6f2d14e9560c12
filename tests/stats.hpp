#pragma once
// The statistical tests shared by the test files.  Every statistical check runs
// with fixed seeds, so it is deterministic; its significance level alpha is the
// chance that a correct implementation fails the check for a random seed.
#include <algorithm>
#include <cmath>
#include <vector>

namespace spikeem::test {

// Critical value of a two-sided z-test at alpha = 0.001:
// P(|Z| > 3.29) = 0.001 for Z standard normal.
inline constexpr double kZ = 3.29;

// Critical value of a one-sample Kolmogorov-Smirnov test at alpha = 0.001
// (the Kolmogorov distribution, large samples): P(sqrt(n) D_n > 1.949) = 0.001.
inline constexpr double kKs = 1.949;

// The Kolmogorov-Smirnov statistic sqrt(m) D_m = sqrt(m) sup |F_emp - F| of the
// sample x against the exponential CDF F(x) = 1 - exp(-rate x) (rate per unit
// of x), to be compared with kKs.
inline double ks_exponential(std::vector<double> x, double rate) {
    std::sort(x.begin(), x.end());
    const double m = static_cast<double>(x.size());
    double d = 0.0;
    for (std::size_t k = 0; k < x.size(); ++k) {
        const double cdf = -std::expm1(-rate * x[k]);
        d = std::max({d, std::abs((k + 1) / m - cdf), std::abs(k / m - cdf)});
    }
    return std::sqrt(m) * d;
}

}  // namespace spikeem::test
