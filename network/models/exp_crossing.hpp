#pragma once
// The first threshold crossing of a sum of three decaying exponentials, exactly.
//
// Between inputs the LIF neuron with exponential currents (LifExpPopulation)
// has, s ms after the present,
//   f(s) = V(s) - level = c0 + a e^{-s/tau_m} + e e^{-s/tau_e} + i e^{-s/tau_i}
// (c0 = v_rest - level; a, e, i from the state).  In x = e^{-s/tau_m} in (0, 1]
// this is p(x) = c0 + a x + i x^ri + e x^re with ri = tau_m/tau_i and
// re = tau_m/tau_e: a polynomial when the ratios are integers (CUBA: 4 and 2),
// and then evaluated with multiplications only; otherwise x^r = exp(r ln x).
// Time runs from x = 1 (now) down towards 0.
//
// Bracketing is exact, not a search: p' = a + ri i x^(ri-1) + re e x^(re-1)
// has a derivative p'' = x^(ri-2) (ri(ri-1) i + re(re-1) e x^(re-ri)) with at
// most one zero, in closed form.  So p' is monotone on at most two pieces and
// has at most two zeros (found by safeguarded Newton), p is monotone on at
// most three pieces, and the first piece on which p reaches 0 holds exactly
// one root, refined by safeguarded Newton (bisection whenever Newton leaves
// the bracket) to full double precision.  A cheap upper bound first rejects
// states that can never reach the level.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace spikeem {

// x^n for n >= 0 by repeated squaring (exact-ratio powers without exp/log).
// The small exponents of common time-constant ratios take a branch each, with
// the loop's own products in the loop's order, so the result is the same bits.
inline double ipow(double x, int n) {
    switch (n) {
        case 0: return 1.0;
        case 1: return x;
        case 2: return x * x;
        case 3: return x * (x * x);
        case 4: {
            const double x2 = x * x;
            return x2 * x2;
        }
        default: break;
    }
    double r = 1.0;
    while (n > 0) {
        if (n & 1) r *= x;
        x *= x;
        n >>= 1;
    }
    return r;
}

// A value no larger than -ln x for x in (0, 1], for times that only have to come no
// later than a crossing (lazy events): a few multiplications instead of libm's log.
// -ln x = 2 atanh(u), u = (1 - x)/(1 + x), a series of positive terms: up to u^9 it is
// below -ln x, and within 0.07 % of it for x >= 1/4 (times within 1.38 tau).  Smaller
// x is split as 2^k m, m in [1, 2): -ln x = -k ln 2 - ln m, with ln m = 2 atanh(v),
// v = (m - 1)/(m + 1) < 1/3, bounded from above by the same terms plus a bound of the
// rest (v^11/(11 (1 - v^2)) <= 0.103 v^11): within 1e-6 relative.  The factors keep
// rounding (a few ulp) from lifting it past -ln x.
inline double neg_log_below(double x) {
    auto series = [](double u) {  // 2 (u + u^3/3 + ... + u^9/9)
        const double u2 = u * u;
        return u * (2.0 + u2 * (2.0 / 3.0 + u2 * (2.0 / 5.0 + u2 * (2.0 / 7.0 + u2 * (2.0 / 9.0)))));
    };
    if (x >= 0.25) return series((1.0 - x) / (1.0 + x)) * (1.0 - 1e-14);
    if (!(x >= 1e-300)) return -std::log(x);  // subnormal, zero or NaN: rare
    const std::uint64_t bits = std::bit_cast<std::uint64_t>(x);
    const int k = static_cast<int>(bits >> 52) - 1023;  // x > 0: no sign bit
    const double m = std::bit_cast<double>((bits & 0x000FFFFFFFFFFFFFull) | 0x3FF0000000000000ull);
    const double v = (m - 1.0) / (m + 1.0), v2 = v * v, v11 = v * v2 * v2 * v2 * v2 * v2;
    const double ln_m_above = series(v) + 2.0 * 0.103 * v11;
    return (-k * 0.6931471805599453 - ln_m_above) * (1.0 - 1e-14);
}

// Upper bounds of g(s) = a e^{-s/tau_m} + e e^{-s/tau_e} + i e^{-s/tau_i} (V - v_rest
// of lif_exp between inputs) without root finding or exp, for margins that only have
// to hold, not to be tight.

// For all s >= 0: each term decays to 0 monotonically.
inline double rise_bound(double a, double e, double i) {
    return std::max(a, 0.0) + std::max(e, 0.0) + std::max(i, 0.0);
}

// What chord_bound needs of h and the time constants (in any one time unit).
struct ChordFactors {
    double fm, fe, fi;  // e^{-h/tau} for tau_m, tau_e, tau_i
    double cm, ce, ci;  // 1/tau^2
    double hh;          // h^2 / 8
};

// For s in [0, h]: the larger of g's end values plus h^2/8 times a bound of -g''
// (a function whose second derivative is >= -c lies at most c s (h - s) / 2 above
// its chord; so where g is concave its maximum may lie inside, above both ends).
// Each term of g'' = a/tau_m^2 e^{-s/tau_m} + ... is monotone, so at least its
// smaller end value.  Tight for h short against the time constants.
inline double chord_bound(const ChordFactors& f, double a, double e, double i) {
    const double am = a * f.cm, ae = e * f.ce, ai = i * f.ci;
    const double curv = std::min(am, am * f.fm) + std::min(ae, ae * f.fe) + std::min(ai, ai * f.fi);
#if defined(__SSE2__)
    // maxsd: lif_exp's window sweep bounds every neuron, and a branch on the sign of
    // the curvature would be mispredicted about as often as not.
    const double bend = _mm_cvtsd_f64(_mm_max_sd(_mm_set_sd(-curv), _mm_setzero_pd()));
#else
    const double bend = std::max(-curv, 0.0);
#endif
    return std::max(a + e + i, a * f.fm + e * f.fe + i * f.fi) + f.hh * bend;
}

class ExpCrossing {
public:
    // Contract: all > 0, tau_e != tau_m, tau_i != tau_m (validated specs ensure it).
    ExpCrossing(double tau_m_ms, double tau_e_ms, double tau_i_ms);

    struct Result {
        // x = e^{-s/tau_m} of the first s > 0 with f(s) = 0, or 0 if f < 0 on the whole horizon.
        double x = 0.0;
        // Without a root: an upper bound of f over the horizon (< 0), exact up to rounding
        // where no cheap termwise bound decided; with a root: 0.
        double sup = 0.0;
        // Without a root: f may still reach 0 after the horizon (c0 >= 0), so check again then.
        bool beyond = false;
    };
    // Contract: f(0) = c0 + a + e + i < 0.
    Result first_crossing(double c0, double a, double e, double i) const;

    // A time no later than the first crossing, cheaply, for a lazy check (a neuron's
    // own event that only has to come before its crossing): x >= the x of
    // first_crossing, with f < 0 on (x, 1] (x in (0, 1], up to rounding).  When one
    // exponent ratio is 2 and the other term's coefficient is <= 0 (CUBA: the
    // excitatory term, tau_m/tau_e = 4), dropping that term leaves a quadratic
    // q >= f whose first root is in closed form: once the fast term has decayed
    // it is close to the crossing.  When q >= 0 at x = 1 and the other ratio is
    // >= 1, that term's tangents (at x = 1, then at the root this gives) make
    // quadratics above f instead.  Otherwise it is first_crossing.  Same
    // contract: f(0) < 0.
    Result early_crossing(double c0, double a, double e, double i) const;

    // f at s >= 0 (ms), by exponentials: for tests and for voltage read-outs.
    double value(double c0, double a, double e, double i, double s_ms) const;

    // The horizon in x: crossings later than tau_m ln(1/kXMin) (230 tau_m) are not looked for.
    static constexpr double kXMin = 1e-100;
    double horizon_ms() const;
    double tau_m_ms() const { return tau_m_; }
    // tau_m/tau_e and tau_m/tau_i as integers when they are integers up to 64 (the fast path), else 0.
    int integer_re() const { return ne_; }
    int integer_ri() const { return ni_; }

private:
    struct Eval {
        double p, q, dq;  // p(x), p'(x), p''(x)
    };
    Eval eval(double c0, double a, double e, double i, double x) const;
    void powers(double x, double& xe2, double& xi2) const;

    double tau_m_, re_, ri_;
    int ne_, ni_;
};

}  // namespace spikeem
