// Rate-based objectives (docs/science.md, "Objectives"): every analytic dJ/dW
// (and dJ/dh, dF/ds) against central finite differences, the exact
// Equilibrium Propagation gradient against its weakly clamped estimate, and the
// comparison helper against deliberately wrong gradients.
//
// Bars: relative error ||g - g_fd|| / ||g_fd|| < 1e-6 for every gradient.
// Steps: 1e-4 (SupervisedLayer, J quadratic in W so central differences are
// exact up to rounding), 1e-5 (EnergyNetwork: J is a smooth rational function
// of W while no unit changes piece, fixed points re-solved to residual 1e-12 by
// the exact active-set solve, so rounding ~1e-16/1e-5 and truncation ~1e-10),
// 1e-5 (LayeredGaussian).
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <numbers>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "experiments/objectives.hpp"

using namespace spikeem::objective;

namespace {

using Vec = std::vector<double>;

double norm(const Vec& v) {
    double s = 0.0;
    for (double x : v) s += x * x;
    return std::sqrt(s);
}

// ||g - ref|| / ||ref||.
double rel_err(const Vec& g, const Vec& ref) {
    REQUIRE(g.size() == ref.size());
    REQUIRE(norm(ref) > 0.0);
    Vec d(g.size());
    for (std::size_t i = 0; i < g.size(); ++i) d[i] = g[i] - ref[i];
    return norm(d) / norm(ref);
}

// Central differences (f(x + h e_i) - f(x - h e_i)) / (2h).
Vec fd_gradient(const std::function<double(const Vec&)>& f, Vec x, double h) {
    Vec g(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double x0 = x[i];
        x[i] = x0 + h;
        const double fp = f(x);
        x[i] = x0 - h;
        const double fm = f(x);
        x[i] = x0;
        g[i] = (fp - fm) / (2.0 * h);
    }
    return g;
}

Vec uniform(std::mt19937_64& rng, std::size_t n, double lo, double hi) {
    std::uniform_real_distribution<double> d(lo, hi);
    Vec v(n);
    for (double& x : v) x = d(rng);
    return v;
}

Vec normal(std::mt19937_64& rng, std::size_t n, double sd) {
    std::normal_distribution<double> d(0.0, sd);
    Vec v(n);
    for (double& x : v) x = d(rng);
    return v;
}

// A random EnergyNetwork problem: inputs in [0.2, 0.8], targets in [0.1, 0.9],
// biases in [0.3, 0.6], weights uniform in [-0.25, 0.25] (small enough that the
// free-free coupling has norm < 1: strictly convex energy, unique fixed point;
// units land inside (0, 1), which each test asserts).
struct EnergyProblem {
    EnergyNetwork net;
    Vec w;
    Vec y;
};
EnergyProblem energy_problem(const std::vector<std::size_t>& sizes, std::uint64_t seed,
                             EnergyNetwork::Relaxation relax = {}, Vec bias_override = {}) {
    std::mt19937_64 rng(seed);
    std::size_t n_free = 0, n_w = 0;
    for (std::size_t k = 1; k < sizes.size(); ++k) {
        n_free += sizes[k];
        n_w += sizes[k - 1] * sizes[k];
    }
    Vec x = uniform(rng, sizes.front(), 0.2, 0.8);
    Vec y = uniform(rng, sizes.back(), 0.1, 0.9);
    Vec b = uniform(rng, n_free, 0.3, 0.6);
    Vec w = uniform(rng, n_w, -0.25, 0.25);
    for (std::size_t i = 0; i < bias_override.size(); ++i)
        if (!std::isnan(bias_override[i])) b[i] = bias_override[i];
    return {EnergyNetwork(sizes, x, y, b, relax), w, y};
}

double energy_fd_error(const EnergyNetwork& net, const Vec& w) {
    const Vec g = net.dJ_dW(w);
    const Vec fd = fd_gradient([&](const Vec& v) { return net.J(v); }, w, 1e-5);
    return rel_err(g, fd);
}

}  // namespace

// ------------------------------------------------------------ the helper itself

TEST_CASE("objectives helper: finite differences match a known gradient and flag wrong ones") {
    // f(x) = sum_i x_i^3 / 3 + sin(x_i) x_{i+1}: gradient known in closed form.
    auto f = [](const Vec& x) {
        double s = 0.0;
        for (std::size_t i = 0; i < x.size(); ++i) {
            s += x[i] * x[i] * x[i] / 3.0;
            if (i + 1 < x.size()) s += std::sin(x[i]) * x[i + 1];
        }
        return s;
    };
    std::mt19937_64 rng(11);
    const Vec x = normal(rng, 6, 1.0);
    Vec g(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
        g[i] = x[i] * x[i];
        if (i + 1 < x.size()) g[i] += std::cos(x[i]) * x[i + 1];
        if (i > 0) g[i] += std::sin(x[i - 1]);
    }
    const Vec fd = fd_gradient(f, x, 1e-5);
    CHECK(rel_err(g, fd) < 1e-8);
    // Wrong gradients fail the 1e-6 bar used below, by orders of magnitude.
    Vec scaled = g, one_off = g, dropped = g;
    for (double& v : scaled) v *= 1.001;
    one_off[2] += 1e-4 * norm(g);
    dropped[0] -= std::cos(x[0]) * x[1];  // a forgotten term
    CHECK(rel_err(scaled, fd) > 1e-4);
    CHECK(rel_err(one_off, fd) > 1e-5);
    CHECK(rel_err(dropped, fd) > 1e-2);
}

TEST_CASE("objectives solve_linear: pivoting and singular matrices") {
    // The first pivot is 0, so this needs a row swap.  Solution (1, -2, 3).
    const Vec a = {0, 2, 1, 1, 1, 1, 2, 0, -1};
    const Vec b = {-1, 2, -1};
    const Vec x = solve_linear(a, b);
    CHECK(x[0] == doctest::Approx(1.0).epsilon(1e-14));
    CHECK(x[1] == doctest::Approx(-2.0).epsilon(1e-14));
    CHECK(x[2] == doctest::Approx(3.0).epsilon(1e-14));
    // A random 200 x 200 system: residual at rounding level.
    std::mt19937_64 rng(5);
    const std::size_t n = 200;
    const Vec m = normal(rng, n * n, 1.0), r = normal(rng, n, 1.0);
    const Vec s = solve_linear(m, r);
    double worst = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        double v = -r[i];
        for (std::size_t j = 0; j < n; ++j) v += m[i * n + j] * s[j];
        worst = std::max(worst, std::abs(v));
    }
    CHECK(worst < 1e-9);
    CHECK_THROWS_AS(solve_linear({1, 2, 2, 4}, {1, 1}), std::runtime_error);
    CHECK_THROWS_AS(solve_linear({1, 2, 3}, {1, 1}), std::invalid_argument);
}

// ------------------------------------------------------------- SupervisedLayer

TEST_CASE("objectives SupervisedLayer: dJ/dW matches finite differences") {
    std::mt19937_64 rng(1);
    const std::size_t n_in = 5, n_out = 3;
    const Vec y = uniform(rng, n_out, -55.0, -50.0);
    SupervisedLayer obj(uniform(rng, n_in, 0.0, 0.05), y, uniform(rng, n_out, -65.0, -60.0), 20.0);
    const Vec w = normal(rng, obj.num_weights(), 2.0);
    const Vec g = obj.dJ_dW(w);
    const Vec fd = fd_gradient([&](const Vec& v) { return obj.J(v); }, w, 1e-4);
    const double err = rel_err(g, fd);
    MESSAGE("SupervisedLayer: rel err " << err);
    CHECK(err < 1e-6);
    // dJ/dV = y - V, against finite differences of J in V (J = -1/2 sum (y - V)^2).
    const Vec v = obj.V(w);
    const Vec fdv = fd_gradient(
        [&](const Vec& vv) {
            double j = 0.0;
            for (std::size_t k = 0; k < vv.size(); ++k) j -= 0.5 * (y[k] - vv[k]) * (y[k] - vv[k]);
            return j;
        },
        v, 1e-4);
    CHECK(rel_err(obj.dJ_dV(w), fdv) < 1e-6);
    // Can fail: a gradient with the pre-synaptic rate dropped is far off.
    Vec wrong(g.size());
    const Vec e = obj.dJ_dV(w);
    for (std::size_t i = 0; i < n_in; ++i)
        for (std::size_t j = 0; j < n_out; ++j) wrong[i * n_out + j] = e[j] * 20.0 * 0.025;
    CHECK(rel_err(wrong, fd) > 1e-2);
}

// --------------------------------------------------------------- EnergyNetwork

TEST_CASE("objectives EnergyNetwork: dF/ds and dE/dW are the gradients of the stated energy") {
    // Named, not a structured binding: CAPTURE and lambdas cannot capture one before clang 16 (sanitizer builds).
    EnergyProblem p = energy_problem({3, 4, 2}, 21);
    EnergyNetwork& net = p.net;
    const Vec& w = p.w;
    std::mt19937_64 rng(22);
    const Vec s = uniform(rng, net.num_free(), 0.1, 0.9);  // inside (0, 1): F is smooth here
    for (double beta : {0.0, 0.3}) {
        CAPTURE(beta);
        const Vec g = net.dF_ds(w, s, beta);
        const Vec fd = fd_gradient([&](const Vec& v) { return net.energy(w, v, beta); }, s, 1e-6);
        CHECK(rel_err(g, fd) < 1e-8);
    }
    const Vec fdw = fd_gradient([&](const Vec& v) { return net.energy(v, s); }, w, 1e-6);
    CHECK(rel_err(net.dE_dW(s), fdw) < 1e-8);
    // Outside the box the quadratic term is 1/2 s^2 (Scellier & Bengio), so dE/ds = s there.
    Vec out = s;
    out[0] = 1.7;
    out[1] = -0.4;
    const Vec g = net.dF_ds(w, out);
    CHECK(g[0] == doctest::Approx(1.7));
    CHECK(g[1] == doctest::Approx(-0.4));
}

TEST_CASE("objectives EnergyNetwork: the fixed point is stationary and plain relaxation reaches it") {
    const std::vector<std::size_t> sizes = {3, 5, 4, 2};
    auto [net, w, y] = energy_problem(sizes, 31);
    const auto fp = net.fixed_point(w);
    REQUIRE(fp.converged);
    CHECK(fp.residual <= 1e-12);
    CAPTURE(fp.margin);
    CHECK(fp.pinned == 0);
    CHECK(fp.margin > 0.02);
    CHECK(norm(net.dF_ds(w, fp.s)) < 1e-11);
    std::mt19937_64 rng(32);
    for (int t = 0; t < 10; ++t) {  // a strict local minimum of E
        Vec s = fp.s;
        const Vec d = normal(rng, s.size(), 1e-3);
        for (std::size_t i = 0; i < s.size(); ++i) s[i] += d[i];
        CHECK(net.energy(w, s) > net.energy(w, fp.s));
    }
    // Projected gradient descent alone (no Newton) converges to the same point.
    EnergyNetwork::Relaxation gd;
    gd.newton_every = 0;
    gd.max_iters = 1000000;
    auto [net_gd, w_gd, y_gd] = energy_problem(sizes, 31, gd);
    const auto fp_gd = net_gd.fixed_point(w_gd);
    REQUIRE(fp_gd.converged);
    MESSAGE("projected gradient descent: " << fp_gd.iterations << " steps to residual " << fp_gd.residual);
    CHECK(fp_gd.iterations > 10);
    CHECK(rel_err(fp_gd.s, fp.s) < 1e-10);
    // Too few steps: reported as not converged, and J refuses to use it.
    gd.max_iters = 3;
    auto [net_short, w_short, y_short] = energy_problem(sizes, 31, gd);
    CHECK_FALSE(net_short.fixed_point(w_short).converged);
    CHECK_THROWS_AS(net_short.J(w_short), std::runtime_error);
}

TEST_CASE("objectives EnergyNetwork: exact dJ/dW matches finite differences") {
    for (const auto& sizes : {std::vector<std::size_t>{3, 4, 2}, std::vector<std::size_t>{3, 5, 4, 2}}) {
        // Named, not a structured binding: CAPTURE and lambdas cannot capture one before clang 16 (sanitizer builds).
        EnergyProblem p = energy_problem(sizes, 41);
        EnergyNetwork& net = p.net;
        const Vec &w = p.w, &y = p.y;
        const auto fp = net.fixed_point(w);
        REQUIRE(fp.converged);
        REQUIRE(fp.pinned == 0);
        REQUIRE(fp.margin > 0.02);  // far beyond the 1e-5 FD step's effect on s
        const Vec g = net.dJ_dW(w);
        const Vec fd = fd_gradient([&](const Vec& v) { return net.J(v); }, w, 1e-5);
        const double err = rel_err(g, fd);
        MESSAGE("EnergyNetwork " << sizes.size() - 1 << " layers: |g| " << norm(g) << ", rel err " << err);
        CHECK(err < 1e-6);
        // Can fail: the delta rule on the top layer only, (y_j - rho_j) rho_i with no
        // feedback through H^{-1} and nothing below, is not dJ/dW.
        Vec naive(g.size(), 0.0);
        const std::size_t L = net.num_layers(), nb = sizes[L - 1], no = sizes[L];
        for (std::size_t i = 0; i < nb; ++i)
            for (std::size_t j = 0; j < no; ++j)
                naive[net.weight_offset(L - 1) + i * no + j] =
                    (y[j] - fp.s[net.free_offset(L) + j]) * fp.s[net.free_offset(L - 1) + i];
        const double naive_err = rel_err(naive, fd);
        MESSAGE("  top-layer delta rule instead: rel err " << naive_err);
        CHECK(naive_err > 1e-2);
    }
}

TEST_CASE("objectives EnergyNetwork: exact dJ/dW with pinned units (a.e. gradient)") {
    // Hidden unit 0 driven far above 1 and unit 1 far below 0: pinned at the
    // kinks, rho' = 0 there; the a.e. gradient is the gradient.
    const double nan = std::nan("");
    auto [net, w, y] = energy_problem({3, 4, 2}, 51, {}, {2.0, -1.0, nan, nan, nan, nan});
    const auto fp = net.fixed_point(w);
    REQUIRE(fp.converged);
    CHECK(fp.pinned == 2);
    CHECK(fp.s[0] == 1.0);
    CHECK(fp.s[1] == 0.0);
    REQUIRE(fp.margin > 0.02);
    const double err = energy_fd_error(net, w);
    MESSAGE("EnergyNetwork with 2 pinned units: rel err " << err);
    CHECK(err < 1e-6);
    // Gradient through the pinned units is zero: their outgoing weights to the
    // output only move J through rho(s_pinned), which is constant.
    const Vec g = net.dJ_dW(w);
    for (std::size_t i = 0; i < 3; ++i) CHECK(g[i * 4 + 0] == 0.0);  // x -> pinned unit 0
    // Unit 0 sits at rho = 1, so W_1[0][j] does matter (rho(s_0) = 1 multiplies it); unit 1 at 0 does not.
    CHECK(g[net.weight_offset(1) + 1 * 2 + 0] == 0.0);
    CHECK(g[net.weight_offset(1) + 1 * 2 + 1] == 0.0);
    CHECK(g[net.weight_offset(1) + 0 * 2 + 0] != 0.0);
}

TEST_CASE("objectives EnergyNetwork: the EqProp estimate approaches the exact gradient as beta goes to 0") {
    auto [net, w, y] = energy_problem({3, 5, 4, 2}, 61);
    const Vec g = net.dJ_dW(w);
    double prev = INFINITY, prev_sym = INFINITY;
    for (double beta : {1e-1, 1e-2, 1e-3, 1e-4}) {
        const double err = rel_err(net.eqprop_dJ_dW(w, beta), g);
        const double err_sym = rel_err(net.eqprop_dJ_dW(w, beta, true), g);
        MESSAGE("beta " << beta << ": one-sided rel err " << err << ", symmetric " << err_sym);
        CHECK(err < prev);
        CHECK(err < 0.5 * prev);  // O(beta): falls by ~10 per decade
        CHECK(err_sym < err);
        prev = err;
        if (beta >= 1e-3) {  // O(beta^2), until rounding (~1e-16 / beta) takes over
            CHECK(err_sym < 0.05 * prev_sym);
            prev_sym = err_sym;
        }
        if (beta == 1e-4) CHECK(err < 1e-3);
    }
    // Can fail: the wrong sign of the weakly clamped term (or of beta) gives error ~ 2.
    Vec flipped = net.eqprop_dJ_dW(w, 1e-4);
    for (double& v : flipped) v = -v;
    CHECK(rel_err(flipped, g) > 1.5);
}

TEST_CASE("objectives EnergyNetwork: 210 free units with pinned ones and EqProp agrees with the exact gradient") {
    // 30-120-80-10, weights uniform in +-0.8 / sqrt(n_k + n_{k+1}): some units
    // pinned at 0 or 1, the rest inside; the exact solve handles both.
    const std::vector<std::size_t> sizes = {30, 120, 80, 10};
    std::mt19937_64 rng(91);
    const Vec x = uniform(rng, 30, 0.0, 1.0), y = uniform(rng, 10, 0.1, 0.9), b = uniform(rng, 210, 0.2, 0.6);
    Vec w;
    for (std::size_t k = 0; k + 1 < sizes.size(); ++k) {
        const double a = 0.8 / std::sqrt(static_cast<double>(sizes[k] + sizes[k + 1]));
        const Vec part = uniform(rng, sizes[k] * sizes[k + 1], -a, a);
        w.insert(w.end(), part.begin(), part.end());
    }
    EnergyNetwork net(sizes, x, y, b);
    const auto fp = net.fixed_point(w);
    REQUIRE(fp.converged);
    CHECK(fp.pinned > 0);
    CHECK(fp.pinned < 210);
    REQUIRE(fp.margin > 1e-3);  // the beta = 1e-4 nudge moves s by ~1e-4 and flips no unit
    // Stationary in the interior units (pinned ones sit at a kink, where dF/ds jumps).
    const Vec gs = net.dF_ds(w, fp.s);
    double worst = 0.0;
    for (std::size_t i = 0; i < gs.size(); ++i)
        if (fp.s[i] > 0.0 && fp.s[i] < 1.0) worst = std::max(worst, std::abs(gs[i]));
    CHECK(worst < 1e-12);
    const double err = rel_err(net.eqprop_dJ_dW(w, 1e-4), net.dJ_dW(w));
    MESSAGE("210 free units, " << fp.pinned << " pinned: EqProp (beta 1e-4) rel err " << err);
    CHECK(err < 1e-3);
}

// ------------------------------------------------------------- LayeredGaussian

TEST_CASE("objectives LayeredGaussian: log p against a hand computation") {
    // x = 3, h1 = 0.25, W = 2, b0 = 0.5, sigma_0 = 0.5, prior N(1, 1.5^2), identity: mu_0 = 1,
    // log p = -2^2 / (2 * 0.25) - 1/2 log(2 pi 0.25) - 0.75^2 / (2 * 2.25) - 1/2 log(2 pi 2.25).
    LayeredGaussian m({1, 1}, {0.5, 1.5}, {0.5}, {1.0}, LayeredGaussian::Rho::identity, {3.0, 0.25});
    const double pi = std::numbers::pi;
    const double expect = -8.0 - 0.5 * std::log(0.5 * pi) - 0.125 - 0.5 * std::log(4.5 * pi);
    CHECK(m.J({2.0}) == doctest::Approx(expect).epsilon(1e-14));
    // dJ/dW = (x - mu_0) / sigma_0^2 * h1; dJ/dh1 = (1 - 0.25) / 2.25 + W (x - mu_0) / sigma_0^2.
    CHECK(m.dJ_dW({2.0})[0] == doctest::Approx(2.0 / 0.25 * 0.25).epsilon(1e-14));
    CHECK(m.dJ_dh({2.0})[1] == doctest::Approx(0.75 / 2.25 + 2.0 * 8.0).epsilon(1e-14));
    // Sigmoid: mu_0 = 2 sigmoid(0.25) + 0.5.
    LayeredGaussian ms({1, 1}, {0.5, 1.5}, {0.5}, {1.0}, LayeredGaussian::Rho::sigmoid, {3.0, 0.25});
    const double r = 1.0 / (1.0 + std::exp(-0.25));
    CHECK(ms.means({2.0}, ms.state())[0] == doctest::Approx(2.0 * r + 0.5).epsilon(1e-14));
}

TEST_CASE("objectives LayeredGaussian: dJ/dW and dJ/dh match finite differences") {
    for (auto rho : {LayeredGaussian::Rho::sigmoid, LayeredGaussian::Rho::identity}) {
        std::mt19937_64 rng(71);
        const std::vector<std::size_t> sizes = {5, 4, 3, 2};
        const std::size_t n_state = 14, n_bias = 12, n_w = 4 * 5 + 3 * 4 + 2 * 3;
        LayeredGaussian m(sizes, {0.5, 0.8, 1.2, 1.5}, normal(rng, n_bias, 0.5), normal(rng, 2, 1.0), rho,
                          normal(rng, n_state, 1.0));
        REQUIRE(m.num_weights() == n_w);
        REQUIRE(m.state_size() == n_state);
        const Vec w = normal(rng, n_w, 1.0);
        const double err_w = rel_err(m.dJ_dW(w), fd_gradient([&](const Vec& v) { return m.J(v); }, w, 1e-5));
        const Vec h = m.state();
        const double err_h = rel_err(m.dJ_dh(w), fd_gradient([&](const Vec& v) { return m.log_p(w, v); }, h, 1e-5));
        MESSAGE("LayeredGaussian " << std::string(rho == LayeredGaussian::Rho::sigmoid ? "sigmoid" : "identity")
                                   << ": dJ/dW rel err " << err_w << ", dJ/dh rel err " << err_h);
        CHECK(err_w < 1e-6);
        CHECK(err_h < 1e-6);
        // Can fail: dJ/dh without the term from the layer below is not the gradient.
        const Vec mu = m.means(w, h);
        const std::vector<double> sig = {0.5, 0.8, 1.2, 1.5};
        Vec local(n_state);
        for (std::size_t k = 0; k < 4; ++k)
            for (std::size_t q = m.state_offset(k); q < m.state_offset(k + 1); ++q)
                local[q] = (mu[q] - h[q]) / (sig[k] * sig[k]);
        CHECK(rel_err(local, m.dJ_dh(w)) > 1e-2);
    }
}

TEST_CASE("objectives LayeredGaussian: E-step ascent on h reaches the linear-Gaussian posterior mean") {
    // One latent layer, identity rho: p(h1 | x) is Gaussian with mean
    // (W^T W / s0^2 + I / s1^2)^{-1} (W^T (x - b) / s0^2 + mu / s1^2).
    std::mt19937_64 rng(81);
    const std::size_t n0 = 4, n1 = 2;
    const double s0 = 0.7, s1 = 1.3;
    const Vec x = normal(rng, n0, 1.0), b = normal(rng, n0, 0.3), mu = normal(rng, n1, 0.5);
    const Vec w = normal(rng, n0 * n1, 0.8);  // w[i * n0 + j] = W_{j i}
    Vec h = x;
    h.resize(n0 + n1, 0.0);
    LayeredGaussian m({n0, n1}, {s0, s1}, b, mu, LayeredGaussian::Rho::identity, h);
    for (int it = 0; it < 5000; ++it) {  // h1 <- h1 + delta dJ/dh1, x clamped
        const Vec g = m.dJ_dh(w);
        Vec next = m.state();
        for (std::size_t i = 0; i < n1; ++i) next[n0 + i] += 0.05 * g[n0 + i];
        m.set_state(next);
    }
    Vec A(n1 * n1, 0.0), r(n1, 0.0);
    for (std::size_t i = 0; i < n1; ++i) {
        A[i * n1 + i] += 1.0 / (s1 * s1);
        r[i] = mu[i] / (s1 * s1);
        for (std::size_t j = 0; j < n0; ++j) r[i] += w[i * n0 + j] * (x[j] - b[j]) / (s0 * s0);
        for (std::size_t k = 0; k < n1; ++k)
            for (std::size_t j = 0; j < n0; ++j) A[i * n1 + k] += w[i * n0 + j] * w[k * n0 + j] / (s0 * s0);
    }
    const Vec post = solve_linear(A, r);
    for (std::size_t i = 0; i < n1; ++i) CHECK(m.state()[n0 + i] == doctest::Approx(post[i]).epsilon(1e-9));
}
