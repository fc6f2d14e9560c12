#pragma once
// Objectives: the rate-based reference that spiking plasticity is measured
// against (docs/science.md, "Objectives").  Plain C++, no spikes: J, dJ/dV and
// dJ/dW from rates.  Weights are flat vectors in the order of a projection's
// (pre, post) pairs as the caller lays them out; each objective documents its
// layout.  dJ/dW is the exact gradient of J (checked against central finite
// differences in tests/test_objectives.cpp).
#include <cstddef>
#include <string>
#include <vector>

namespace spikeem::objective {

class Objective {
public:
    virtual ~Objective() = default;
    virtual std::string name() const = 0;
    virtual std::size_t num_weights() const = 0;
    virtual double J(const std::vector<double>& w) const = 0;
    virtual std::vector<double> dJ_dW(const std::vector<double>& w) const = 0;
};

// 1. Supervised layer (the delta-rule case).  n_in inputs with rates rho_i,
// n_out outputs with V_j = offset_j + scale * sum_i W_ij rho_i and
// J = -1/2 sum_j (y_j - V_j)^2, so dJ/dV_j = y_j - V_j and
// dJ/dW_ij = (y_j - V_j) * scale * rho_i.  W is laid out pre-major:
// w[i * n_out + j].  For a leaky neuron with delta synapses (weights in mV)
// and input rates in 1/ms, scale = tau_m (ms) and offset = v_rest + drive.
class SupervisedLayer final : public Objective {
public:
    SupervisedLayer(std::vector<double> rho, std::vector<double> y, std::vector<double> offset, double scale);
    std::string name() const override { return "supervised"; }
    std::size_t num_weights() const override { return rho_.size() * y_.size(); }
    double J(const std::vector<double>& w) const override;
    std::vector<double> dJ_dW(const std::vector<double>& w) const override;
    std::vector<double> V(const std::vector<double>& w) const;
    std::vector<double> dJ_dV(const std::vector<double>& w) const;
    std::size_t n_in() const { return rho_.size(); }
    std::size_t n_out() const { return y_.size(); }

private:
    std::vector<double> rho_, y_, offset_;
    double scale_;
};

// Dense linear solve A x = b by Gaussian elimination with partial pivoting.
// A is n x n, row-major (a[r * n + c]), n = b.size().  Throws
// std::invalid_argument on a size mismatch and std::runtime_error when a pivot
// is exactly zero or below 1e-14 times the largest |entry| of A (numerically
// singular).  O(n^3): meant for a few hundred unknowns.
std::vector<double> solve_linear(std::vector<double> a, std::vector<double> b);

// 2. Energy-based layered network in the Equilibrium Propagation form
// (Scellier & Bengio 2017, Front. Comput. Neurosci. 11:24; docs/science.md, "Objectives").
//
// Layers 0..L of sizes n_0 (input), n_1, ..., n_L (output), L >= 1.  The input
// layer is clamped to x; the free units are layers 1..L.  State vectors s hold
// the free units only, layer by layer: s[off_k + i] is unit i of layer k, with
// off_1 = 0 and off_{k+1} = off_k + n_k (see free_offset()).
//
// Weights: symmetric, only between consecutive layers.  W_k (k = 0..L-1) is the
// n_k x n_{k+1} matrix between layer k (pre, lower) and layer k+1 (post,
// upper), flat pre-major as in SupervisedLayer: w[woff_k + i * n_{k+1} + j]
// couples unit i of layer k and unit j of layer k+1, woff_0 = 0,
// woff_{k+1} = woff_k + n_k n_{k+1} (see weight_offset()).  Biases b (one per
// free unit, layout of s) are fixed constructor parameters, not learned:
// dJ_dW returns weights only.
//
// rho(s) = clip(s, 0, 1) (hard sigmoid); rho'(s) = 1 on the open interval
// (0, 1) and 0 elsewhere (including the kinks 0 and 1).  Energy, Scellier &
// Bengio's exact form (their Eq. 1: the quadratic term is 1/2 s^2, not the
// 1/2 rho(s)^2 of some write-ups -- with 1/2 s^2 every stationary
// point lies in [0, 1]^n), sums over free units only:
//   E(s) = 1/2 sum_i s_i^2 - sum_i b_i rho(s_i)
//          - sum_{k=0}^{L-1} rho(s_k)^T W_k rho(s_{k+1}),  s_0 := x (clamped).
// Cost C(s) = 1/2 ||y - rho(s_L)||^2; nudged energy F = E + beta C.
//   dF/ds_i = s_i - rho'(s_i) (b_i + sum_j W_ij rho(s_j)) - beta [i output] rho'(s_i) (y_i - rho(s_i)),
// sum over the neighbours j of i in the layers below and above (x included).
// Dynamics ds/dt = -dF/ds (free phase beta = 0, weakly clamped phase beta > 0).
//
// Fixed point s^beta(W): a state in [0,1]^n with s_i = clip(u_i(s), 0, 1),
//   u_i(s) = (b_i + sum_j W_ij rho(s_j) + beta [i output] y_i) / (1 + beta [i output]),
// i.e. dF/ds_i = 0 for units inside (0, 1), and units pinned at a kink 0 or 1
// where 0 lies in the subdifferential (u_i <= 0 or u_i >= 1).  Convergence
// criterion: residual max_i |s_i - clip(u_i(s), 0, 1)| <= tol (default 1e-12),
// which bounds |dF/ds_i| <= (1 + beta) tol for interior units.  Solver:
// projected gradient descent on F over the box [0,1]^n (step 1/G, G a
// Gershgorin bound on the Hessian, so it descends), started from s = 0 for the
// free phase and from s* for the nudged phase, with an active-set Newton solve
// tried every newton_every steps (units classified interior/pinned from u(s),
// the interior ones solved exactly as a linear system: F is quadratic on each
// piece); a Newton result is kept only if it meets tol.  If ||W|| < 1 (free-free
// block) F is strictly convex on the box and the fixed point is unique.
// fixed_point() reports convergence; J, dJ_dW and eqprop_dJ_dW throw
// std::runtime_error if the relaxation does not converge within max_iters.
//
// Objective: J(W) = -C(s*(W)), s* the free fixed point (beta = 0): to be
// maximised, like SupervisedLayer's J.  dJ_dW is computed exactly at s* by
// implicit differentiation: H lambda = dC/ds with
//   H_ij = delta_ij - rho'(s_i) rho'(s_j) W_ij   (Hessian of E in the free units; rho'' = 0 a.e.),
//   dC/ds_i = -[i output] rho'(s_i) (y_i - rho(s_i)),
//   dJ/dW_k[i][j] = -(lambda_i rho'(s_i) rho(s_j) + rho(s_i) rho'(s_j) lambda_j),  lambda := 0 on inputs.
// Because rho is piecewise linear this is the almost-everywhere gradient: it is
// the true gradient when every unit is strictly inside (0, 1) or strictly
// pinned (u_i < 0 or u_i > 1); at a unit with u_i exactly 0 or 1 J has a kink.
// Tests use parameters where units sit inside (0, 1).
//
// EqProp estimate (Scellier & Bengio Theorem 1): dE/dW_k[i][j] = -rho(s_i) rho(s_j), and
//   dJ/dW ~= -(1/beta) (dE/dW(s^beta) - dE/dW(s*)) = (1/beta) (rho_i rho_j |_{s^beta} - rho_i rho_j |_{s*}),
// exact as beta -> 0 (error O(beta)); the symmetric variant uses s^{+beta} and
// s^{-beta} and 1/(2 beta) (error O(beta^2)).  beta must be > 0 and < 1.
struct EnergyRelaxation {
    double tol = 1e-12;               // residual criterion above
    std::size_t max_iters = 200000;   // projected gradient steps
    std::size_t newton_every = 25;    // try an active-set Newton solve every this many steps (0: never)
};
class EnergyNetwork final : public Objective {
public:
    using Relaxation = EnergyRelaxation;
    struct FixedPoint {
        std::vector<double> s;        // free units, layout above
        std::size_t iterations = 0;   // projected gradient steps taken
        double residual = 0.0;        // max_i |s_i - clip(u_i(s), 0, 1)|
        bool converged = false;
        std::size_t pinned = 0;       // units with rho'(s_i) = 0 (at 0 or 1)
        double margin = 0.0;          // min over units of the distance of u_i(s) to {0, 1}
    };

    // sizes = {n_0, ..., n_L}; x: n_0 clamped inputs (use values in [0, 1]; the
    // energy sees rho(x)); y: n_L targets; bias: one per free unit.
    EnergyNetwork(std::vector<std::size_t> sizes, std::vector<double> x, std::vector<double> y,
                  std::vector<double> bias, Relaxation relax = {});
    std::string name() const override { return "eqprop_energy"; }
    std::size_t num_weights() const override { return weight_offset_.back(); }
    double J(const std::vector<double>& w) const override;
    std::vector<double> dJ_dW(const std::vector<double>& w) const override;

    FixedPoint fixed_point(const std::vector<double>& w, double beta = 0.0) const;
    // Same, starting the relaxation from s0 (free units).
    FixedPoint fixed_point(const std::vector<double>& w, double beta, std::vector<double> s0) const;
    // F(s) = E(s) + beta C(s) and its gradient over the free units; ds/dt = -dF_ds.
    double energy(const std::vector<double>& w, const std::vector<double>& s, double beta = 0.0) const;
    std::vector<double> dF_ds(const std::vector<double>& w, const std::vector<double>& s, double beta = 0.0) const;
    double cost(const std::vector<double>& s) const;
    // dE/dW at state s (weight layout): -rho(s_i) rho(s_j).  Does not depend on W.
    std::vector<double> dE_dW(const std::vector<double>& s) const;
    // Exact gradient at a given free fixed point (for reuse); dJ_dW(w) = dJ_dW_at(w, fixed_point(w).s).
    std::vector<double> dJ_dW_at(const std::vector<double>& w, const std::vector<double>& s_star) const;
    // EqProp estimate of dJ/dW, weakly clamped phase(s) at +beta (and -beta if symmetric).
    std::vector<double> eqprop_dJ_dW(const std::vector<double>& w, double beta, bool symmetric = false) const;

    std::size_t num_layers() const { return sizes_.size() - 1; }  // L
    const std::vector<std::size_t>& sizes() const { return sizes_; }
    std::size_t num_free() const { return n_free_; }
    std::size_t free_offset(std::size_t k) const { return unit_offset_[k] - sizes_[0]; }  // k >= 1
    std::size_t weight_offset(std::size_t k) const { return weight_offset_[k]; }

private:
    // u_i(s) for all free units (see above).
    std::vector<double> drive(const std::vector<double>& w, const std::vector<double>& s, double beta) const;
    double residual(const std::vector<double>& w, const std::vector<double>& s, double beta) const;
    bool newton(const std::vector<double>& w, std::vector<double>& s, double beta) const;
    FixedPoint solved(const std::vector<double>& w, double beta, std::vector<double> s0) const;
    void check_w(const std::vector<double>& w) const;

    std::vector<std::size_t> sizes_;
    std::vector<std::size_t> unit_offset_;    // offsets in the full state [x, s], size L + 2
    std::vector<std::size_t> weight_offset_;  // size L + 1
    std::size_t n_free_;
    std::vector<double> x_, y_, bias_;
    Relaxation relax_;
};

// 3. Layered Gaussian generative model (docs/science.md, "Variational EM"; Bengio et al.
// arXiv:1502.04156).  Layers h_0 = x (observed), h_1, ..., h_L (latent) of sizes
// n_0, ..., n_L, L >= 1:
//   p(h_{k-1} | h_k) = N(mu_{k-1}, sigma_{k-1}^2 I),  mu_{k-1} = W_k rho(h_k) + b_{k-1},  k = 1..L,
//   p(h_L)           = N(mu_L, sigma_L^2 I),          mu_L = prior_mean (fixed),
// rho = identity or the logistic sigmoid.  The state h is all layers
// concatenated, h[hoff_k + i] = unit i of layer k (hoff_0 = 0, x first; see
// state_offset()).  sigma has L + 1 entries (sigma_k for layer k's conditional,
// sigma_L the prior's std); biases b_0..b_{L-1} (layout of layers 0..L-1) and
// the prior mean are fixed, not learned.
//
// Weights: W_k (n_{k-1} x n_k, generative, top-down) flat pre-major with
// pre = the cause (layer k) and post = the predicted unit (layer k-1):
// w[woff_k + i * n_{k-1} + j] = (W_k)_{j i}, i in layer k, j in layer k-1,
// woff_1 = 0, woff_{k+1} = woff_k + n_k n_{k-1} (see weight_offset(k), k = 1..L).
//
// J(W) = log p(x, h) at the stored state h (the M-step objective, h fixed):
//   log p = sum_{k=0}^{L} sum_j [ -(h_{k,j} - mu_{k,j})^2 / (2 sigma_k^2) - 1/2 log(2 pi sigma_k^2) ].
// With e_k = (h_k - mu_k) / sigma_k^2:
//   dJ/dW_k[i][j] = e_{k-1,j} rho(h_{k,i})    ((h_{k-1} - W_k rho(h_k) - b_{k-1}) rho(h_k)^T / sigma_{k-1}^2),
//   dJ/dh_k = -e_k + rho'(h_k) * (W_k^T e_{k-1})   (second term for k >= 1 only),
// the E-step direction: local, the own Gaussian term plus the term from the layer below.
class LayeredGaussian final : public Objective {
public:
    enum class Rho { identity, sigmoid };

    LayeredGaussian(std::vector<std::size_t> sizes, std::vector<double> sigma, std::vector<double> bias,
                    std::vector<double> prior_mean, Rho rho, std::vector<double> h);
    std::string name() const override { return "layered_gaussian"; }
    std::size_t num_weights() const override { return weight_offset_.back(); }
    double J(const std::vector<double>& w) const override { return log_p(w, h_); }
    std::vector<double> dJ_dW(const std::vector<double>& w) const override { return dlogp_dW(w, h_); }
    std::vector<double> dJ_dh(const std::vector<double>& w) const { return dlogp_dh(w, h_); }

    // The same at an explicit state h (all layers, layout above).
    double log_p(const std::vector<double>& w, const std::vector<double>& h) const;
    std::vector<double> dlogp_dW(const std::vector<double>& w, const std::vector<double>& h) const;
    // Gradient w.r.t. every layer, x included (ignore layer 0 when x is clamped).
    std::vector<double> dlogp_dh(const std::vector<double>& w, const std::vector<double>& h) const;
    // mu_k for k = 0..L (layout of h).
    std::vector<double> means(const std::vector<double>& w, const std::vector<double>& h) const;

    const std::vector<double>& state() const { return h_; }
    void set_state(std::vector<double> h);
    std::size_t num_layers() const { return sizes_.size() - 1; }
    const std::vector<std::size_t>& sizes() const { return sizes_; }
    std::size_t state_size() const { return state_offset_.back(); }
    std::size_t state_offset(std::size_t k) const { return state_offset_[k]; }
    std::size_t weight_offset(std::size_t k) const { return weight_offset_[k - 1]; }  // k = 1..L
    double rho(double v) const;
    double rho_prime(double v) const;

private:
    void check(const std::vector<double>& w, const std::vector<double>& h) const;

    std::vector<std::size_t> sizes_;
    std::vector<double> sigma_, bias_, prior_mean_;
    Rho rho_;
    std::vector<double> h_;
    std::vector<std::size_t> state_offset_;   // size L + 2
    std::vector<std::size_t> weight_offset_;  // woff_1..woff_{L+1} stored at [0..L]
};

}  // namespace spikeem::objective
