#include "experiments/objectives.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <utility>

namespace spikeem::objective {

SupervisedLayer::SupervisedLayer(std::vector<double> rho, std::vector<double> y, std::vector<double> offset,
                                 double scale)
    : rho_(std::move(rho)), y_(std::move(y)), offset_(std::move(offset)), scale_(scale) {
    if (offset_.size() != y_.size()) throw std::invalid_argument("SupervisedLayer: one offset per output");
}

std::vector<double> SupervisedLayer::V(const std::vector<double>& w) const {
    std::vector<double> v = offset_;
    for (std::size_t i = 0; i < rho_.size(); ++i)
        for (std::size_t j = 0; j < y_.size(); ++j) v[j] += scale_ * w[i * y_.size() + j] * rho_[i];
    return v;
}

std::vector<double> SupervisedLayer::dJ_dV(const std::vector<double>& w) const {
    std::vector<double> v = V(w);
    for (std::size_t j = 0; j < y_.size(); ++j) v[j] = y_[j] - v[j];
    return v;
}

double SupervisedLayer::J(const std::vector<double>& w) const {
    double j = 0.0;
    for (double e : dJ_dV(w)) j -= 0.5 * e * e;
    return j;
}

std::vector<double> SupervisedLayer::dJ_dW(const std::vector<double>& w) const {
    const std::vector<double> e = dJ_dV(w);
    std::vector<double> g(num_weights());
    for (std::size_t i = 0; i < rho_.size(); ++i)
        for (std::size_t j = 0; j < y_.size(); ++j) g[i * y_.size() + j] = e[j] * scale_ * rho_[i];
    return g;
}

// ---------------------------------------------------------------- solve_linear

std::vector<double> solve_linear(std::vector<double> a, std::vector<double> b) {
    const std::size_t n = b.size();
    if (a.size() != n * n) throw std::invalid_argument("solve_linear: matrix is not n x n for n = b.size()");
    double scale = 0.0;
    for (double v : a) scale = std::max(scale, std::abs(v));
    const double floor = 1e-14 * scale;
    for (std::size_t c = 0; c < n; ++c) {
        std::size_t p = c;
        for (std::size_t r = c + 1; r < n; ++r)
            if (std::abs(a[r * n + c]) > std::abs(a[p * n + c])) p = r;
        const double piv = a[p * n + c];
        if (piv == 0.0 || std::abs(piv) < floor) throw std::runtime_error("solve_linear: matrix is singular");
        if (p != c) {
            for (std::size_t k = c; k < n; ++k) std::swap(a[p * n + k], a[c * n + k]);
            std::swap(b[p], b[c]);
        }
        for (std::size_t r = c + 1; r < n; ++r) {
            const double f = a[r * n + c] / piv;
            if (f == 0.0) continue;
            for (std::size_t k = c + 1; k < n; ++k) a[r * n + k] -= f * a[c * n + k];
            b[r] -= f * b[c];
        }
    }
    std::vector<double> x(n);
    for (std::size_t c = n; c-- > 0;) {
        double v = b[c];
        for (std::size_t k = c + 1; k < n; ++k) v -= a[c * n + k] * x[k];
        x[c] = v / a[c * n + c];
    }
    return x;
}

// --------------------------------------------------------------- EnergyNetwork

namespace {

double hard_sigmoid(double s) { return std::clamp(s, 0.0, 1.0); }
double hard_sigmoid_prime(double s) { return (s > 0.0 && s < 1.0) ? 1.0 : 0.0; }

}  // namespace

EnergyNetwork::EnergyNetwork(std::vector<std::size_t> sizes, std::vector<double> x, std::vector<double> y,
                             std::vector<double> bias, Relaxation relax)
    : sizes_(std::move(sizes)), x_(std::move(x)), y_(std::move(y)), bias_(std::move(bias)), relax_(relax) {
    if (sizes_.size() < 2) throw std::invalid_argument("EnergyNetwork: need an input and at least one more layer");
    for (std::size_t n : sizes_)
        if (n == 0) throw std::invalid_argument("EnergyNetwork: layers must not be empty");
    unit_offset_.assign(1, 0);
    for (std::size_t n : sizes_) unit_offset_.push_back(unit_offset_.back() + n);
    weight_offset_.assign(1, 0);
    for (std::size_t k = 0; k + 1 < sizes_.size(); ++k)
        weight_offset_.push_back(weight_offset_.back() + sizes_[k] * sizes_[k + 1]);
    n_free_ = unit_offset_.back() - sizes_[0];
    if (x_.size() != sizes_[0]) throw std::invalid_argument("EnergyNetwork: x must have n_0 entries");
    if (y_.size() != sizes_.back()) throw std::invalid_argument("EnergyNetwork: y must have n_L entries");
    if (bias_.size() != n_free_) throw std::invalid_argument("EnergyNetwork: one bias per free unit");
    if (!(relax_.tol > 0.0)) throw std::invalid_argument("EnergyNetwork: tol must be > 0");
}

void EnergyNetwork::check_w(const std::vector<double>& w) const {
    if (w.size() != num_weights()) throw std::invalid_argument("EnergyNetwork: wrong number of weights");
}

std::vector<double> EnergyNetwork::drive(const std::vector<double>& w, const std::vector<double>& s,
                                         double beta) const {
    const std::size_t n0 = sizes_[0];
    std::vector<double> r(unit_offset_.back());
    for (std::size_t i = 0; i < n0; ++i) r[i] = hard_sigmoid(x_[i]);
    for (std::size_t i = 0; i < n_free_; ++i) r[n0 + i] = hard_sigmoid(s[i]);
    std::vector<double> a = bias_;
    for (std::size_t k = 0; k + 1 < sizes_.size(); ++k) {
        const std::size_t nk = sizes_[k], nk1 = sizes_[k + 1];
        for (std::size_t i = 0; i < nk; ++i) {
            const std::size_t I = unit_offset_[k] + i;
            for (std::size_t j = 0; j < nk1; ++j) {
                const std::size_t Jf = unit_offset_[k + 1] + j;
                const double wij = w[weight_offset_[k] + i * nk1 + j];
                a[Jf - n0] += wij * r[I];
                if (k >= 1) a[I - n0] += wij * r[Jf];
            }
        }
    }
    if (beta != 0.0) {
        const std::size_t out = free_offset(num_layers());
        for (std::size_t j = 0; j < y_.size(); ++j) a[out + j] = (a[out + j] + beta * y_[j]) / (1.0 + beta);
    }
    return a;
}

double EnergyNetwork::residual(const std::vector<double>& w, const std::vector<double>& s, double beta) const {
    const std::vector<double> u = drive(w, s, beta);
    double r = 0.0;
    for (std::size_t i = 0; i < n_free_; ++i) r = std::max(r, std::abs(s[i] - hard_sigmoid(u[i])));
    return r;
}

bool EnergyNetwork::newton(const std::vector<double>& w, std::vector<double>& s_io, double beta) const {
    const std::size_t n0 = sizes_[0];
    const std::size_t out = free_offset(num_layers());
    std::vector<double> s = s_io;
    for (int attempt = 0; attempt < 6; ++attempt) {
        const std::vector<double> u = drive(w, s, beta);
        // Classify: interior units (index into the reduced system) and pinned ones.
        std::vector<std::ptrdiff_t> idx(n_free_, -1);
        std::size_t m = 0;
        for (std::size_t i = 0; i < n_free_; ++i) {
            if (u[i] > 0.0 && u[i] < 1.0) idx[i] = static_cast<std::ptrdiff_t>(m++);
            else s[i] = hard_sigmoid(u[i]);
        }
        // Reduced system: c_i s_i - sum_{j interior} W_ij s_j = b_i + sum_{j pinned or input} W_ij rho(s_j) + beta y_i.
        std::vector<double> A(m * m, 0.0), rhs(m, 0.0);
        for (std::size_t i = 0; i < n_free_; ++i) {
            if (idx[i] < 0) continue;
            const std::size_t r = static_cast<std::size_t>(idx[i]);
            const bool is_out = i >= out;
            A[r * m + r] = is_out ? 1.0 + beta : 1.0;
            rhs[r] = bias_[i] + (is_out ? beta * y_[i - out] : 0.0);
        }
        auto rho_full = [&](std::size_t I) { return I < n0 ? hard_sigmoid(x_[I]) : hard_sigmoid(s[I - n0]); };
        for (std::size_t k = 0; k + 1 < sizes_.size(); ++k) {
            const std::size_t nk = sizes_[k], nk1 = sizes_[k + 1];
            for (std::size_t i = 0; i < nk; ++i) {
                const std::size_t I = unit_offset_[k] + i;
                const std::ptrdiff_t ri = k >= 1 ? idx[I - n0] : -1;
                for (std::size_t j = 0; j < nk1; ++j) {
                    const std::size_t Jf = unit_offset_[k + 1] + j;
                    const std::ptrdiff_t rj = idx[Jf - n0];
                    const double wij = w[weight_offset_[k] + i * nk1 + j];
                    if (ri >= 0 && rj >= 0) {
                        A[static_cast<std::size_t>(ri) * m + static_cast<std::size_t>(rj)] -= wij;
                        A[static_cast<std::size_t>(rj) * m + static_cast<std::size_t>(ri)] -= wij;
                    } else {
                        if (rj >= 0) rhs[static_cast<std::size_t>(rj)] += wij * rho_full(I);
                        if (ri >= 0) rhs[static_cast<std::size_t>(ri)] += wij * rho_full(Jf);
                    }
                }
            }
        }
        std::vector<double> sol;
        try {
            sol = solve_linear(std::move(A), std::move(rhs));
        } catch (const std::runtime_error&) {
            return false;
        }
        for (std::size_t i = 0; i < n_free_; ++i)
            if (idx[i] >= 0) s[i] = sol[static_cast<std::size_t>(idx[i])];
        bool in_box = true;
        for (double v : s) in_box = in_box && v >= 0.0 && v <= 1.0;
        if (in_box && residual(w, s, beta) <= relax_.tol) {
            s_io = std::move(s);
            return true;
        }
        for (double& v : s) v = hard_sigmoid(v);
    }
    return false;
}

EnergyNetwork::FixedPoint EnergyNetwork::solved(const std::vector<double>& w, double beta,
                                                std::vector<double> s0) const {
    check_w(w);
    if (!(beta > -1.0)) throw std::invalid_argument("EnergyNetwork: beta must be > -1");
    if (s0.size() != n_free_) throw std::invalid_argument("EnergyNetwork: s0 must have one entry per free unit");
    const std::size_t n0 = sizes_[0];
    const std::size_t out = free_offset(num_layers());
    // Step 1/G with G >= the largest eigenvalue of the Hessian of F on the box (Gershgorin).
    std::vector<double> row(n_free_, 0.0);
    for (std::size_t i = 0; i < n_free_; ++i) row[i] = i >= out ? 1.0 + std::abs(beta) : 1.0;
    for (std::size_t k = 1; k + 1 < sizes_.size(); ++k)
        for (std::size_t i = 0; i < sizes_[k]; ++i)
            for (std::size_t j = 0; j < sizes_[k + 1]; ++j) {
                const double a = std::abs(w[weight_offset_[k] + i * sizes_[k + 1] + j]);
                row[unit_offset_[k] + i - n0] += a;
                row[unit_offset_[k + 1] + j - n0] += a;
            }
    const double step = 1.0 / *std::max_element(row.begin(), row.end());

    FixedPoint fp;
    std::vector<double> s = std::move(s0);
    for (double& v : s) v = hard_sigmoid(v);
    for (std::size_t it = 0;; ++it) {
        const std::vector<double> u = drive(w, s, beta);
        double r = 0.0;
        for (std::size_t i = 0; i < n_free_; ++i) r = std::max(r, std::abs(s[i] - hard_sigmoid(u[i])));
        fp.iterations = it;
        if (r <= relax_.tol) {
            fp.converged = true;
            break;
        }
        if (relax_.newton_every > 0 && it % relax_.newton_every == 0 && newton(w, s, beta)) {
            fp.converged = true;
            break;
        }
        if (it >= relax_.max_iters) break;
        for (std::size_t i = 0; i < n_free_; ++i) {
            const double c = i >= out ? 1.0 + beta : 1.0;
            s[i] = hard_sigmoid(s[i] - step * c * (s[i] - u[i]));
        }
    }
    const std::vector<double> u = drive(w, s, beta);
    fp.residual = 0.0;
    fp.margin = INFINITY;
    for (std::size_t i = 0; i < n_free_; ++i) {
        fp.residual = std::max(fp.residual, std::abs(s[i] - hard_sigmoid(u[i])));
        fp.margin = std::min({fp.margin, std::abs(u[i]), std::abs(1.0 - u[i])});
        if (hard_sigmoid_prime(s[i]) == 0.0) ++fp.pinned;
    }
    fp.converged = fp.residual <= relax_.tol;
    fp.s = std::move(s);
    return fp;
}

EnergyNetwork::FixedPoint EnergyNetwork::fixed_point(const std::vector<double>& w, double beta) const {
    return solved(w, beta, std::vector<double>(n_free_, 0.0));
}

EnergyNetwork::FixedPoint EnergyNetwork::fixed_point(const std::vector<double>& w, double beta,
                                                     std::vector<double> s0) const {
    return solved(w, beta, std::move(s0));
}

double EnergyNetwork::cost(const std::vector<double>& s) const {
    const std::size_t out = free_offset(num_layers());
    double c = 0.0;
    for (std::size_t j = 0; j < y_.size(); ++j) {
        const double e = y_[j] - hard_sigmoid(s[out + j]);
        c += 0.5 * e * e;
    }
    return c;
}

double EnergyNetwork::energy(const std::vector<double>& w, const std::vector<double>& s, double beta) const {
    check_w(w);
    const std::size_t n0 = sizes_[0];
    auto r = [&](std::size_t I) { return I < n0 ? hard_sigmoid(x_[I]) : hard_sigmoid(s[I - n0]); };
    double e = 0.0;
    for (std::size_t i = 0; i < n_free_; ++i) e += 0.5 * s[i] * s[i] - bias_[i] * hard_sigmoid(s[i]);
    for (std::size_t k = 0; k + 1 < sizes_.size(); ++k)
        for (std::size_t i = 0; i < sizes_[k]; ++i)
            for (std::size_t j = 0; j < sizes_[k + 1]; ++j)
                e -= r(unit_offset_[k] + i) * w[weight_offset_[k] + i * sizes_[k + 1] + j] *
                     r(unit_offset_[k + 1] + j);
    return e + beta * cost(s);
}

std::vector<double> EnergyNetwork::dF_ds(const std::vector<double>& w, const std::vector<double>& s,
                                         double beta) const {
    check_w(w);
    // drive(beta = 0) is b + sum_j W_ij rho(s_j).
    const std::vector<double> a = drive(w, s, 0.0);
    const std::size_t out = free_offset(num_layers());
    std::vector<double> g(n_free_);
    for (std::size_t i = 0; i < n_free_; ++i) {
        const double rp = hard_sigmoid_prime(s[i]);
        g[i] = s[i] - rp * a[i];
        if (i >= out) g[i] -= beta * rp * (y_[i - out] - hard_sigmoid(s[i]));
    }
    return g;
}

std::vector<double> EnergyNetwork::dE_dW(const std::vector<double>& s) const {
    const std::size_t n0 = sizes_[0];
    auto r = [&](std::size_t I) { return I < n0 ? hard_sigmoid(x_[I]) : hard_sigmoid(s[I - n0]); };
    std::vector<double> g(num_weights());
    for (std::size_t k = 0; k + 1 < sizes_.size(); ++k)
        for (std::size_t i = 0; i < sizes_[k]; ++i)
            for (std::size_t j = 0; j < sizes_[k + 1]; ++j)
                g[weight_offset_[k] + i * sizes_[k + 1] + j] = -r(unit_offset_[k] + i) * r(unit_offset_[k + 1] + j);
    return g;
}

std::vector<double> EnergyNetwork::dJ_dW_at(const std::vector<double>& w, const std::vector<double>& s) const {
    check_w(w);
    const std::size_t n0 = sizes_[0], n = n_free_;
    const std::size_t out = free_offset(num_layers());
    // H lambda = dC/ds, H_ij = delta_ij - rho'_i rho'_j W_ij.
    std::vector<double> H(n * n, 0.0), dC(n, 0.0);
    for (std::size_t i = 0; i < n; ++i) H[i * n + i] = 1.0;
    for (std::size_t k = 1; k + 1 < sizes_.size(); ++k)
        for (std::size_t i = 0; i < sizes_[k]; ++i)
            for (std::size_t j = 0; j < sizes_[k + 1]; ++j) {
                const std::size_t a = unit_offset_[k] + i - n0, b = unit_offset_[k + 1] + j - n0;
                const double h = hard_sigmoid_prime(s[a]) * hard_sigmoid_prime(s[b]) *
                                 w[weight_offset_[k] + i * sizes_[k + 1] + j];
                H[a * n + b] -= h;
                H[b * n + a] -= h;
            }
    for (std::size_t j = 0; j < y_.size(); ++j)
        dC[out + j] = -hard_sigmoid_prime(s[out + j]) * (y_[j] - hard_sigmoid(s[out + j]));
    const std::vector<double> lambda = solve_linear(std::move(H), std::move(dC));
    // dJ/dW_ij = -(lambda_i rho'_i rho_j + rho_i rho'_j lambda_j), lambda = 0 on inputs.
    auto r = [&](std::size_t I) { return I < n0 ? hard_sigmoid(x_[I]) : hard_sigmoid(s[I - n0]); };
    auto lrp = [&](std::size_t I) { return I < n0 ? 0.0 : lambda[I - n0] * hard_sigmoid_prime(s[I - n0]); };
    std::vector<double> g(num_weights());
    for (std::size_t k = 0; k + 1 < sizes_.size(); ++k)
        for (std::size_t i = 0; i < sizes_[k]; ++i)
            for (std::size_t j = 0; j < sizes_[k + 1]; ++j) {
                const std::size_t I = unit_offset_[k] + i, Jf = unit_offset_[k + 1] + j;
                g[weight_offset_[k] + i * sizes_[k + 1] + j] = -(lrp(I) * r(Jf) + r(I) * lrp(Jf));
            }
    return g;
}

namespace {
const EnergyNetwork::FixedPoint& require(const EnergyNetwork::FixedPoint& fp, const char* what) {
    if (!fp.converged)
        throw std::runtime_error(std::string("EnergyNetwork: ") + what + " did not converge (residual " +
                                 std::to_string(fp.residual) + ")");
    return fp;
}
}  // namespace

double EnergyNetwork::J(const std::vector<double>& w) const {
    return -cost(require(fixed_point(w), "free relaxation").s);
}

std::vector<double> EnergyNetwork::dJ_dW(const std::vector<double>& w) const {
    return dJ_dW_at(w, require(fixed_point(w), "free relaxation").s);
}

std::vector<double> EnergyNetwork::eqprop_dJ_dW(const std::vector<double>& w, double beta, bool symmetric) const {
    if (!(beta > 0.0 && beta < 1.0)) throw std::invalid_argument("EnergyNetwork: eqprop beta must be in (0, 1)");
    const FixedPoint free = fixed_point(w);
    require(free, "free relaxation");
    const FixedPoint plus = fixed_point(w, beta, free.s);
    require(plus, "nudged relaxation (+beta)");
    // -(1/beta) (dE/dW(s^+) - dE/dW(s^ref)).
    std::vector<double> g = dE_dW(plus.s), ref;
    double denom = beta;
    if (symmetric) {
        const FixedPoint minus = fixed_point(w, -beta, free.s);
        require(minus, "nudged relaxation (-beta)");
        ref = dE_dW(minus.s);
        denom = 2.0 * beta;
    } else {
        ref = dE_dW(free.s);
    }
    for (std::size_t q = 0; q < g.size(); ++q) g[q] = -(g[q] - ref[q]) / denom;
    return g;
}

// ------------------------------------------------------------- LayeredGaussian

LayeredGaussian::LayeredGaussian(std::vector<std::size_t> sizes, std::vector<double> sigma, std::vector<double> bias,
                                 std::vector<double> prior_mean, Rho rho, std::vector<double> h)
    : sizes_(std::move(sizes)), sigma_(std::move(sigma)), bias_(std::move(bias)), prior_mean_(std::move(prior_mean)),
      rho_(rho) {
    if (sizes_.size() < 2) throw std::invalid_argument("LayeredGaussian: need x and at least one latent layer");
    for (std::size_t n : sizes_)
        if (n == 0) throw std::invalid_argument("LayeredGaussian: layers must not be empty");
    const std::size_t L = sizes_.size() - 1;
    state_offset_.assign(1, 0);
    for (std::size_t n : sizes_) state_offset_.push_back(state_offset_.back() + n);
    weight_offset_.assign(1, 0);
    for (std::size_t k = 1; k <= L; ++k) weight_offset_.push_back(weight_offset_.back() + sizes_[k] * sizes_[k - 1]);
    if (sigma_.size() != L + 1) throw std::invalid_argument("LayeredGaussian: one sigma per layer (L + 1)");
    for (double s : sigma_)
        if (!(s > 0.0)) throw std::invalid_argument("LayeredGaussian: sigma must be > 0");
    if (bias_.size() != state_offset_[L]) throw std::invalid_argument("LayeredGaussian: biases for layers 0..L-1");
    if (prior_mean_.size() != sizes_[L]) throw std::invalid_argument("LayeredGaussian: prior mean must have n_L entries");
    set_state(std::move(h));
}

void LayeredGaussian::set_state(std::vector<double> h) {
    if (h.size() != state_size()) throw std::invalid_argument("LayeredGaussian: state must hold every layer");
    h_ = std::move(h);
}

double LayeredGaussian::rho(double v) const {
    return rho_ == Rho::identity ? v : 1.0 / (1.0 + std::exp(-v));
}

double LayeredGaussian::rho_prime(double v) const {
    if (rho_ == Rho::identity) return 1.0;
    const double r = 1.0 / (1.0 + std::exp(-v));
    return r * (1.0 - r);
}

void LayeredGaussian::check(const std::vector<double>& w, const std::vector<double>& h) const {
    if (w.size() != num_weights()) throw std::invalid_argument("LayeredGaussian: wrong number of weights");
    if (h.size() != state_size()) throw std::invalid_argument("LayeredGaussian: state must hold every layer");
}

std::vector<double> LayeredGaussian::means(const std::vector<double>& w, const std::vector<double>& h) const {
    check(w, h);
    const std::size_t L = num_layers();
    std::vector<double> mu(state_size());
    for (std::size_t q = 0; q < state_offset_[L]; ++q) mu[q] = bias_[q];
    for (std::size_t i = 0; i < sizes_[L]; ++i) mu[state_offset_[L] + i] = prior_mean_[i];
    for (std::size_t k = 1; k <= L; ++k) {
        const std::size_t nk = sizes_[k], nb = sizes_[k - 1];
        for (std::size_t i = 0; i < nk; ++i) {
            const double r = rho(h[state_offset_[k] + i]);
            for (std::size_t j = 0; j < nb; ++j) mu[state_offset_[k - 1] + j] += w[weight_offset_[k - 1] + i * nb + j] * r;
        }
    }
    return mu;
}

double LayeredGaussian::log_p(const std::vector<double>& w, const std::vector<double>& h) const {
    const std::vector<double> mu = means(w, h);
    double lp = 0.0;
    for (std::size_t k = 0; k <= num_layers(); ++k) {
        const double var = sigma_[k] * sigma_[k];
        const double norm = -0.5 * std::log(2.0 * std::numbers::pi * var);
        for (std::size_t q = state_offset_[k]; q < state_offset_[k + 1]; ++q) {
            const double d = h[q] - mu[q];
            lp += -d * d / (2.0 * var) + norm;
        }
    }
    return lp;
}

std::vector<double> LayeredGaussian::dlogp_dW(const std::vector<double>& w, const std::vector<double>& h) const {
    const std::vector<double> mu = means(w, h);
    std::vector<double> g(num_weights());
    for (std::size_t k = 1; k <= num_layers(); ++k) {
        const std::size_t nk = sizes_[k], nb = sizes_[k - 1];
        const double var = sigma_[k - 1] * sigma_[k - 1];
        for (std::size_t i = 0; i < nk; ++i) {
            const double r = rho(h[state_offset_[k] + i]);
            for (std::size_t j = 0; j < nb; ++j) {
                const std::size_t q = state_offset_[k - 1] + j;
                g[weight_offset_[k - 1] + i * nb + j] = (h[q] - mu[q]) / var * r;
            }
        }
    }
    return g;
}

std::vector<double> LayeredGaussian::dlogp_dh(const std::vector<double>& w, const std::vector<double>& h) const {
    const std::vector<double> mu = means(w, h);
    const std::size_t L = num_layers();
    std::vector<double> e(state_size());
    for (std::size_t k = 0; k <= L; ++k)
        for (std::size_t q = state_offset_[k]; q < state_offset_[k + 1]; ++q)
            e[q] = (h[q] - mu[q]) / (sigma_[k] * sigma_[k]);
    std::vector<double> g(state_size());
    for (std::size_t q = 0; q < g.size(); ++q) g[q] = -e[q];
    for (std::size_t k = 1; k <= L; ++k) {
        const std::size_t nk = sizes_[k], nb = sizes_[k - 1];
        for (std::size_t i = 0; i < nk; ++i) {
            double back = 0.0;
            for (std::size_t j = 0; j < nb; ++j) back += w[weight_offset_[k - 1] + i * nb + j] * e[state_offset_[k - 1] + j];
            g[state_offset_[k] + i] += rho_prime(h[state_offset_[k] + i]) * back;
        }
    }
    return g;
}

}  // namespace spikeem::objective
