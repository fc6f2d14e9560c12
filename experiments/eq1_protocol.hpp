#pragma once
// The stand-alone Eq. 1 STDP-curve protocol (docs/science.md, "STDP curves and
// pairing"): pure Monte Carlo over one-pre-spike trials, not the network simulator.
//
// One trial = one presynaptic spike at t = 0.  The postsynaptic voltage is the
// line V(t) = V0 + Vdot * t (dimensionless, threshold theta = 1; times in ms),
// V0 ~ U[0, theta), Vdot ~ N(0, slope_std_per_ms) or a fixed value from a user
// grid.  Eq. 1 gives dW = eta * S_pre * dV/dt = eta * Vdot at the pre spike; that
// dW is paired with the postsynaptic spikes of the trial inside
// [-window_ms, +window_ms] that the pairing selects (PostPairing: by default the
// one nearest to the pre spike), dT = t_post - t_pre = t_post.  The pairs are
// binned in dT (mean dW, standard error, count per bin), summarised per slope
// (the paper's parametric curve, grid mode) and fitted per side with
// A exp(-|dT|/tau) and B/|dT|.  Standard errors treat the trial as the
// independent unit (a trial's pairs share its slope): see ReplicateBins.
//
// Postsynaptic firing:
//  - Deterministic: a spike where V crosses theta, t* = (theta - V0)/Vdot, if
//    |t*| <= window_ms.  With reset, further spikes at t* + k (theta - v_reset)/Vdot,
//    k = 1, 2, ..., i.e. spaced (theta - v_reset)/|Vdot| moving away from t = 0 in
//    the direction of sign(Vdot), while inside the window.  (For Vdot < 0 the
//    train extends into the past: the reset picture mirrored in time, which is
//    the protocol's convention.)  No noise.
//  - Stochastic: an inhomogeneous Poisson process of rate
//    rho_max * sigmoid(beta (V(t) - theta)) on [-window_ms, window_ms], drawn
//    exactly by thinning a homogeneous Poisson process of rate rho_max.
//    Optional noise: V(t) += sigma B(t), B a two-sided standard Brownian motion
//    with B(0) = 0, sampled exactly at the candidate times (independent Gaussian
//    increments walking outward from 0 on each side).  Optional reset:
//    candidates are processed forward in time from -window_ms; an accepted
//    spike at t_s subtracts V(t_s) - v_reset from V at all later times (slope
//    and noise continue).  Note that resets before t = 0 shift the voltage at
//    the pre spike too: V0 is the voltage the trajectory would have at t = 0
//    without any reset.  dW stays eta * Vdot.
//
// Reproducibility: trial i draws from its own RandomStream keyed
// (seed, stable_hash("spikeem/eq1_protocol"), i, 0), trials are processed in
// fixed chunks (independent of the thread count) and chunk results are merged
// in chunk order, so every output is a pure function of the options
// (bit-identical for any number of TBB threads).
//
// Units: times in ms, rates in 1/ms, voltages dimensionless (theta = 1),
// slopes in 1/ms, dW in units of eta/ms (dW = eta * Vdot).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace spikeem::eq1 {

enum class Firing { Deterministic, Stochastic };

// Which postsynaptic spikes (of those within +-window of the pre spike) a
// presynaptic spike pairs with:
//  - Nearest: the one nearest in time (on a tie, the later one);
//  - FirstAfter: the first with t_post >= t_pre;
//  - LastBefore: the last with t_post < t_pre;
//  - All: every one (each adds a pair; with a neuron that fires many times in
//    the window these extra pairs are spread nearly uniformly in dT and flatten
//    the curve).
enum class PostPairing { Nearest, FirstAfter, LastBefore, All };
const char* to_string(PostPairing p);  // "nearest", "first_after", "last_before", "all"
const char* to_string(Firing f);       // "deterministic", "stochastic"

struct ProtocolOptions {
    std::uint64_t seed = 1;
    std::uint64_t trials = 100000;
    Firing firing = Firing::Stochastic;

    double theta = 1.0;    // threshold (dimensionless voltage)
    double v_reset = 0.0;  // reset voltage, must be < theta
    bool reset = false;    // reset after each postsynaptic spike

    // Slopes: Gaussian N(0, slope_std_per_ms) when slope_grid_per_ms is empty;
    // otherwise trial i uses slope_grid_per_ms[i % grid size] (trials split
    // evenly: the counts per slope differ by at most one).
    double slope_std_per_ms = 0.02;
    std::vector<double> slope_grid_per_ms;

    // Stochastic firing: rate rho_max_per_ms * sigmoid(beta (V - theta)).
    double rho_max_per_ms = 0.2;
    double beta = 10.0;  // >= 0; beta = 0 gives the constant rate rho_max/2
    // Brownian noise amplitude: V += noise_sigma_per_sqrt_ms * B(t), B(t) in sqrt(ms).
    // Must be 0 with deterministic firing.
    double noise_sigma_per_sqrt_ms = 0.0;

    double window_ms = 100.0;  // post spikes and bins cover [-window_ms, window_ms]
    double bin_ms = 5.0;       // window_ms must be an integer multiple of bin_ms
    double eta = 1.0;          // learning rate: dW = eta * Vdot
    PostPairing pairing = PostPairing::Nearest;
};

// One pre/post pair: dT = t_post - t_pre, dW the Eq. 1 weight change of the trial.
struct Pair {
    double dT_ms;
    double dW;
};

// Appends to `out` the pairs (t_post - t_pre, dW) of one presynaptic spike at
// t_pre_ms with the postsynaptic spikes `post_ms` (ascending) that `pairing`
// selects among those with |t_post - t_pre| <= window_ms, in time order.
void select_pairs(std::span<const double> post_ms, double t_pre_ms, double window_ms, PostPairing pairing, double dW,
                  std::vector<Pair>& out);

// One dT bin [lo_dT_ms, hi_dT_ms) (the last bin also holds dT = +window).  Bin
// edges are integer multiples of bin_ms, so dT = 0 is always an edge.
// mean_dW and std_dW (sample std, n - 1) are over the n pairs in the bin; std
// is 0 when n < 2, mean is 0 when n = 0.  sem_dW is the standard error of
// mean_dW: from BinAccumulator, std_dW / sqrt(n) (pairs taken as independent,
// 0 when n < 2); from ReplicateBins, the between-replicate estimate over
// `replicates` independent replicates (NaN when replicates < 2).
struct Bin {
    double lo_dT_ms = 0.0;
    double hi_dT_ms = 0.0;
    double centre_dT_ms = 0.0;
    std::uint64_t n = 0;
    double mean_dW = 0.0;
    double std_dW = 0.0;
    double sem_dW = 0.0;
    std::uint64_t replicates = 0;  // independent replicates behind sem_dW (0: pairs taken as independent)
};

// Streaming mean/variance (Welford; Chan et al. for merging).  Deterministic:
// the result depends only on the order of add() and merge() calls.
struct Moments {
    std::uint64_t n = 0;
    double mean = 0.0;
    double m2 = 0.0;  // sum of squared deviations from the mean
    void add(double x);
    void merge(const Moments& o);
    double variance() const;  // sample variance (n - 1), 0 if n < 2
    double sem() const;       // sqrt(variance / n), 0 if n < 2
};

// Bins pairs in dT over [-window_ms, window_ms] with width bin_ms.  Pairs with
// |dT| > window_ms are counted in `outside` and otherwise ignored.  Contract:
// window_ms > 0, bin_ms > 0, window_ms / bin_ms an integer (so dT = 0 is a bin
// edge and every bin lies on one side); throws std::invalid_argument otherwise.
// Merge accumulators in a fixed order to get reproducible sums.
class BinAccumulator {
public:
    BinAccumulator(double window_ms, double bin_ms);
    void add(double dT_ms, double dW);
    void add(const Pair& p) { add(p.dT_ms, p.dW); }
    void merge(const BinAccumulator& o);  // throws std::invalid_argument if the binnings differ
    std::vector<Bin> bins() const;
    std::uint64_t outside() const { return outside_; }
    double window_ms() const { return window_ms_; }
    double bin_ms() const { return bin_ms_; }

private:
    double window_ms_, bin_ms_;
    std::vector<Moments> m_;
    std::uint64_t outside_ = 0;
};

// Sums over independent replicates (clusters) of (S, N) = (sum of the values,
// number of values) of one replicate, for the ratio estimator
// mean = sum S / sum N and its standard error
//   sem^2 = R / (R - 1) * sum_r (S_r - mean N_r)^2 / (sum N)^2
// over R replicates (replicates with N = 0 count: they are part of the
// sample).  This is the standard error of a mean over correlated values when
// only the replicates are independent (cluster-robust; Cochran, Sampling
// Techniques, 1977, ch. 6).  Merge order fixes the floating-point sums.
struct RatioMoments {
    std::uint64_t replicates = 0;
    std::uint64_t n = 0;       // values
    double s = 0.0, ss = 0.0;  // sum S, sum S^2 over replicates
    double sn = 0.0, nn = 0.0;  // sum S N, sum N^2 over replicates
    double vv = 0.0;            // sum of squared values (for the std over values)
    void add_replicate(double S, std::uint64_t N, double sum_sq_values);
    void merge(const RatioMoments& o);
    double mean() const { return n ? s / static_cast<double>(n) : 0.0; }
    double sem() const;        // NaN if replicates < 2; 0 if n = 0
    double value_std() const;  // sample std over the values, 0 if n < 2
};

// Binning as BinAccumulator, with standard errors from independent
// replicates: add() the pairs of one replicate (a trial of the protocol, a
// block of a network run), then close_replicate(); a replicate without pairs
// must be closed too.  Same binning contract as BinAccumulator.
class ReplicateBins {
public:
    ReplicateBins(double window_ms, double bin_ms);
    void add(double dT_ms, double dW);
    void close_replicate();
    void merge(const ReplicateBins& o);  // o must have no open replicate; throws if the binnings differ
    std::vector<Bin> bins() const;       // of the closed replicates
    std::uint64_t replicates() const { return replicates_; }
    std::uint64_t outside() const { return outside_; }

private:
    std::size_t index(double dT_ms) const;
    double window_ms_, bin_ms_;
    std::vector<RatioMoments> m_;
    std::vector<double> cur_s_, cur_vv_;
    std::vector<std::uint64_t> cur_n_;
    std::vector<std::size_t> touched_;
    std::uint64_t replicates_ = 0, outside_ = 0;
};

// The same, in one call over a list of pairs (e.g. from the full simulator).
std::vector<Bin> bin_pairs(std::span<const Pair> pairs, double window_ms = 100.0, double bin_ms = 5.0);

// --- Fits ------------------------------------------------------------------
//
// Per side (LTP: bins with centre > 0; LTD: centre < 0), using bin centres x =
// |centre_dT_ms| and y = mean_dW, weighted by w = 1/sem_dW^2, over the bins that
//   - have n >= 2 and sem_dW > 0 ("usable"), and
//   - lie strictly beyond the peak: |centre| > |centre of the peak bin|, where
//     the peak bin is the usable bin of that side with the largest |mean_dW|
//     (the peak bin itself is excluded), and
//   - have |centre| >= min_abs_dT_ms (default 0: no extra restriction).
// Weighted SSE = sum w (y - f(x))^2 (a chi-square when the sems are right).

struct ExpFit {  // y = amplitude * exp(-x / tau_ms)
    bool ok = false;  // false if fewer than 2 bins
    double amplitude = 0.0;  // dW units (signed)
    double tau_ms = 0.0;
    double wsse = 0.0;
    bool tau_at_bound = false;  // the optimum hit the search range [0.01 ms, 1e6 ms]
};

struct InverseFit {  // y = amplitude_ms / x
    bool ok = false;  // false if fewer than 1 bin
    double amplitude_ms = 0.0;  // dW units times ms (signed)
    double wsse = 0.0;
};

enum class Winner { None, Exponential, Inverse };

struct SideFit {
    int side = 0;  // +1: dT > 0 (LTP side), -1: dT < 0 (LTD side)
    bool has_peak = false;
    double peak_dT_ms = 0.0;  // centre of the peak bin
    double peak_mean_dW = 0.0;
    std::size_t n_bins = 0;  // bins used by the fits
    ExpFit exponential;
    InverseFit inverse;
    // Smaller weighted SSE; None unless both fits are ok and n_bins >= 3 (so
    // that the 2-parameter exponential is not trivially exact).
    Winner winner = Winner::None;
};

struct CurveFits {
    SideFit ltp;  // dT > 0
    SideFit ltd;  // dT < 0
};

SideFit fit_side(std::span<const Bin> bins, int side, double min_abs_dT_ms = 0.0);
CurveFits fit_curve(std::span<const Bin> bins, double min_abs_dT_ms = 0.0);
const char* to_string(Winner w);

// --- The protocol ----------------------------------------------------------

// The parametric curve point of one grid slope (grid mode only).
struct ParametricPoint {
    double slope_per_ms = 0.0;
    std::uint64_t trials = 0;  // trials run with this slope
    std::uint64_t pairs = 0;   // pairs (post spikes in the window) of those trials
    double mean_dT_ms = 0.0;   // over the pairs; 0 if pairs = 0
    double sem_dT_ms = 0.0;    // standard error of mean_dT_ms, trials as replicates (NaN if trials < 2)
    double mean_dW = 0.0;      // over the pairs (= eta * slope when pairs > 0)
};

struct ProtocolResult {
    ProtocolOptions options;
    std::vector<Bin> bins;                     // 2 * window_ms / bin_ms bins, ascending dT
    std::vector<ParametricPoint> parametric;  // one per grid slope, grid order; empty in Gaussian mode
    CurveFits fits;                            // fit_curve(bins)
    std::uint64_t trials = 0;
    std::uint64_t pairs = 0;                 // all pairs = post spikes in the window
    std::uint64_t trials_without_pairs = 0;  // trials with no post spike in the window
    double pairs_per_trial_mean = 0.0;
    double pairs_per_trial_variance = 0.0;  // sample variance over trials
};

// The grid options with the window widened so that the slowest grid slope is
// not cut by it: window_ms = max(o.window_ms, 2 theta / min |slope|) over the
// non-zero grid slopes, rounded up to a multiple of bin_ms.  A deterministic
// crossing comes at most theta/|slope| after (or before) the pre spike; the
// factor 2 leaves room for the stochastic neuron's delay after it.  Throws
// std::invalid_argument if the widened window would exceed max_window_ms.
ProtocolOptions widen_for_grid(const ProtocolOptions& o, double max_window_ms = 20000.0);

// Throws std::invalid_argument if the options are inconsistent (noise with
// deterministic firing, window not a multiple of bin, non-positive window,
// bin, rho_max or trials, negative beta/noise/slope std, v_reset >= theta,
// slope std = 0 in Gaussian mode).
void validate(const ProtocolOptions& o);

// Trial `trial` alone: its slope (grid or drawn) and V0, and its pairs (after
// the pairing) in time order (`out` is cleared first).  Pure function of
// (options, trial).  Does not validate the options (run_protocol does).
struct Trial {
    double v0 = 0.0;
    double slope_per_ms = 0.0;
};
Trial simulate_trial(const ProtocolOptions& o, std::uint64_t trial, std::vector<Pair>& out);

// All trials, in parallel (oneTBB), identical for any thread count.
// `progress(trials done, trials)` (optional) is called after each chunk of
// trials, from the worker threads, one call at a time; it changes no result.
ProtocolResult run_protocol(const ProtocolOptions& o,
                            const std::function<void(std::size_t, std::size_t)>& progress = {});

}  // namespace spikeem::eq1
