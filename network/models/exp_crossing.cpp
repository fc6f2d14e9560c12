#include "network/models/exp_crossing.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <tuple>

namespace spikeem {

namespace {

// tau ratio as an integer in [2, 64] when it is one (to 1e-12), else 0.
int as_integer(double r) {
    const double n = std::round(r);
    return (n >= 2 && n <= 64 && std::abs(r - n) <= 1e-12 * n) ? static_cast<int>(n) : 0;
}


// Root of a monotone function on [lo, hi] whose values flo, fhi at the ends
// have opposite signs (or one is 0).  Newton from a regula falsi start; any
// step that leaves the shrinking bracket is replaced by bisection (geometric
// when the bracket spans more than a factor 4, since x = e^{-s/tau} and late
// roots sit at tiny x).  Stops at a zero, when a step moves x by at most a few
// ulp, or when the bracket is that narrow.
//
// When f also gives its second derivative (a third value), the step is
// Halley's, f f' / (f'^2 - f f''/2): cubic convergence, so fewer evaluations
// per root, as an evaluation yields all three (a Newton step when the
// correction is not small, near an inflection).
template <class F>
inline double safeguarded_newton(F f, double lo, double hi, double flo, double fhi, bool from_hi = false) {
    if (flo == 0.0) return lo;
    if (fhi == 0.0) return hi;
    const bool lo_negative = flo < 0.0;
    double x = from_hi ? hi : (fhi * lo - flo * hi) / (fhi - flo);
    if (!(x > lo && x <= hi)) x = 0.5 * (lo + hi);
    for (int iter = 0; iter < 200; ++iter) {
        const auto v = f(x);
        const double fx = std::get<0>(v), dfx = std::get<1>(v);
        if (fx == 0.0) return x;
        if ((fx < 0.0) == lo_negative) lo = x;
        else hi = x;
        double step;
        if constexpr (std::tuple_size_v<decltype(v)> == 3) {
            // One division: the loop's latency is its divisions.
            const double q2 = dfx * dfx, pd = fx * std::get<2>(v);
            step = std::abs(pd) < q2 ? fx * dfx / (q2 - 0.5 * pd) : fx / dfx;
        } else {
            step = fx / dfx;
        }
        // Converged: the step is at the level of rounding (test before the bracket, which
        // a last step of zero or of rounding noise would leave).
        if (std::abs(step) <= 4e-16 * x) return x - step;
        double xn = x - step;
        if (!(xn > lo && xn < hi)) xn = hi > 4.0 * lo && lo > 0.0 ? std::sqrt(lo * hi) : 0.5 * (lo + hi);
        if (hi - lo <= 4e-16 * hi) return xn;
        x = xn;
    }
    return x;
}

}  // namespace

ExpCrossing::ExpCrossing(double tau_m_ms, double tau_e_ms, double tau_i_ms)
    : tau_m_(tau_m_ms), re_(tau_m_ms / tau_e_ms), ri_(tau_m_ms / tau_i_ms), ne_(as_integer(re_)), ni_(as_integer(ri_)) {
    if (ne_) re_ = ne_;
    if (ni_) ri_ = ni_;
}

double ExpCrossing::horizon_ms() const { return tau_m_ * -std::log(kXMin); }

// x^(r-2) for both exponents: multiplications on the integer path.
inline void ExpCrossing::powers(double x, double& xe2, double& xi2) const {
    if (ne_ && ni_) {
        xe2 = ipow(x, ne_ - 2);
        xi2 = ipow(x, ni_ - 2);
    } else {
        const double lx = std::log(x);
        xe2 = ne_ ? ipow(x, ne_ - 2) : std::exp((re_ - 2.0) * lx);
        xi2 = ni_ ? ipow(x, ni_ - 2) : std::exp((ri_ - 2.0) * lx);
    }
}

inline ExpCrossing::Eval ExpCrossing::eval(double c0, double a, double e, double i, double x) const {
    double xe2, xi2;
    powers(x, xe2, xi2);
    const double xe1 = xe2 * x, xi1 = xi2 * x;
    return {c0 + a * x + i * xi1 * x + e * xe1 * x, a + ri_ * i * xi1 + re_ * e * xe1,
            ri_ * (ri_ - 1.0) * i * xi2 + re_ * (re_ - 1.0) * e * xe2};
}

double ExpCrossing::value(double c0, double a, double e, double i, double s) const {
    return c0 + a * std::exp(-s / tau_m_) + e * std::exp(-s * re_ / tau_m_) + i * std::exp(-s * ri_ / tau_m_);
}

ExpCrossing::Result ExpCrossing::first_crossing(double c0, double a, double e, double i) const {
    assert(c0 + a + e + i < 0.0);
    if (re_ == ri_) e += i, i = 0.0;  // one synaptic time constant: one term
    // Every term decays monotonically to 0, so f <= c0 + the positive coefficients: if
    // that is below 0 the level is never reached (the common case for a neuron at rest
    // below threshold).
    const double ub = c0 + std::max(a, 0.0) + std::max(e, 0.0) + std::max(i, 0.0);
    if (ub < 0.0) return {0.0, ub, false};

    const double x_min = kXMin;
    // Zeros of p'' in (x_min, 1): x^(re-ri) = -ri(ri-1) i / (re(re-1) e).
    double cuts[3];  // boundaries of the monotone pieces of p', descending
    int ncut = 0;
    cuts[ncut++] = 1.0;
    if (e != 0.0 && i != 0.0) {
        const double rho = -ri_ * (ri_ - 1.0) * i / (re_ * (re_ - 1.0) * e);
        if (rho > 0.0) {
            const double d = re_ - ri_;
            const double xq = d == 1.0 ? rho : d == 2.0 ? std::sqrt(rho) : std::pow(rho, 1.0 / d);
            if (xq > x_min && xq < 1.0) cuts[ncut++] = xq;
        }
    }
    cuts[ncut++] = x_min;

    // On each piece p' is monotone, so p has at most one extremum there.  Going down
    // from x = 1 (forward in time) with p < 0 at the piece's near end: if p >= 0 at
    // its far end there is exactly one crossing inside (one extremum cannot make two);
    // if both ends are below 0 a crossing needs an interior maximum >= 0, which is only
    // located (a zero of p') when a cheap bound of p over the piece does not exclude it.
    Eval v_hi = eval(c0, a, e, i, 1.0);
    double x_hi = 1.0;
    // The root's search starts at the piece's near end, whose evaluation is at hand.
    auto p_of = [&](double x) {
        const Eval v = x == x_hi ? v_hi : eval(c0, a, e, i, x);
        return std::tuple<double, double, double>{v.p, v.q, v.dq};
    };
    auto q_of = [&](double x) {
        const Eval v = eval(c0, a, e, i, x);
        return std::pair<double, double>{v.q, v.dq};
    };
    double sup = v_hi.p;
    for (int k = 0; k + 1 < ncut; ++k) {
        const double hi = cuts[k], lo = cuts[k + 1];
        const Eval v_lo = eval(c0, a, e, i, lo);
        if (v_lo.p >= 0.0) return {safeguarded_newton(p_of, lo, hi, v_lo.p, v_hi.p, true), 0.0, false};
        double piece_sup = std::max(v_lo.p, v_hi.p);
        if ((v_lo.q < 0.0) != (v_hi.q < 0.0) && v_lo.q != 0.0 && v_hi.q != 0.0) {
            // Termwise bound over [lo, hi]: each monomial is monotone in x.
            double xe2, xi2;
            powers(lo, xe2, xi2);
            const double lo_e = xe2 * lo * lo, lo_i = xi2 * lo * lo;
            powers(hi, xe2, xi2);
            const double hi_e = xe2 * hi * hi, hi_i = xi2 * hi * hi;
            const double ub_piece = c0 + std::max(a * lo, a * hi) + std::max(e * lo_e, e * hi_e) +
                                    std::max(i * lo_i, i * hi_i);
            if (ub_piece >= 0.0) {
                const double r = safeguarded_newton(q_of, lo, hi, v_lo.q, v_hi.q);
                const double p_r = eval(c0, a, e, i, r).p;
                if (p_r >= 0.0) return {safeguarded_newton(p_of, r, hi, p_r, v_hi.p), 0.0, false};
                piece_sup = std::max(piece_sup, p_r);
            } else {
                piece_sup = ub_piece;
            }
        }
        sup = std::max(sup, piece_sup);
        v_hi = v_lo;
        x_hi = lo;
    }
    return {0.0, sup, c0 >= 0.0};
}

namespace {

// The largest root below 1 of c + b x + k x^2, given that it is < 0 at x = 1 and that
// c > 0 or k != 0 keeps a root there; 0 when it has none (then it is < 0 on all of (0, 1]).
inline double largest_root_below_1(double c, double b, double k) {
    if (k == 0.0) return b < 0.0 ? -c / b : 0.0;
    const double disc = b * b - 4.0 * k * c;
    if (!(disc >= 0.0)) return 0.0;  // < 0 for every x: no root
    const double t = -0.5 * (b + std::copysign(std::sqrt(disc), b));  // no cancellation
    const double r1 = t / k, r2 = t != 0.0 ? c / t : 0.0;
    return std::max(r1 < 1.0 ? r1 : 0.0, r2 < 1.0 ? r2 : 0.0);
}

}  // namespace

ExpCrossing::Result ExpCrossing::early_crossing(double c0, double a, double e, double i) const {
    assert(c0 + a + e + i < 0.0);
    // f = q + d x^n: q = c0 + a x + k x^2 keeps the term of exponent ratio 2, d x^n is the
    // other term, with d <= 0 (nd: n as an integer, 0 if it is none).
    double k, d, n;
    int nd;
    if (ni_ == 2 && ne_ != 2 && e <= 0.0) k = i, d = e, n = re_, nd = ne_;
    else if (ne_ == 2 && ni_ != 2 && i <= 0.0) k = e, d = i, n = ri_, nd = ni_;
    else return first_crossing(c0, a, e, i);
    // A quadratic above f that is < 0 at x = 1 has its largest root below 1 where it, and
    // so f, may first reach 0.  First q itself (d x^n <= 0): close to f once the fast
    // term has decayed.  When q >= 0 at x = 1 (a strong fast term still to come), d x^n,
    // concave for n >= 1, is replaced by its tangent at x0, d (1 - n) x0^n + n d x0^(n-1) x,
    // which lies above it and touches it at x0: at x0 = 1 (where the quadratic is f(1) < 0),
    // then once at that quadratic's root, closer to f's crossing (either root bounds it,
    // so the smaller x, later, is kept).
    double x = -1.0;  // none yet
    if (c0 + a + k < 0.0) {
        x = largest_root_below_1(c0, a, k);
    } else if (n >= 1.0) {
        const double c1 = c0 + d * (1.0 - n), b1 = a + n * d;
        if (c1 + b1 + k < 0.0) {
            x = largest_root_below_1(c1, b1, k);
            if (x > kXMin && nd) {
                const double x0n1 = ipow(x, nd - 1);  // x0^(n-1)
                const double c2 = c0 + d * (1.0 - n) * x0n1 * x, b2 = a + n * d * x0n1;
                if (c2 + b2 + k < 0.0) x = std::min(x, largest_root_below_1(c2, b2, k));
            }
        }
    }
    // Without a root of a bound within the horizon, f's own search (its sup is needed then).
    if (!(x > kXMin)) return first_crossing(c0, a, e, i);
    // A hair earlier, so that rounding in the root never puts it past f's crossing.
    return {std::min(x * (1.0 + 1e-12), 1.0), 0.0, false};
}

}  // namespace spikeem
