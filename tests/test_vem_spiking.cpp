// The spiking E-step and M-step of the variational-EM model
// (experiments/vem/spiking.hpp) on small models: 20 pixels, 30 h1 units, 10 h2
// units, random weights (init_model), digits drawn here.
#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>

#include "experiments/vem/spiking.hpp"
#include "network/models/stochastic.hpp"
#include "network/simulation.hpp"
#include "sim/random.hpp"

using namespace spikeem;
using namespace spikeem::vem;

namespace {

Model small_model() {
    InitSettings is;
    is.n_x = 20, is.n_h1 = 30, is.n_h2 = 10, is.seed = 1;
    return init_model(is);
}

// B "digits" of 20 pixels: about 40% ink in [0.6, 1], the rest in [0, 0.05].
Matrix digits(Eigen::Index B) {
    Matrix x(20, B);
    for (Eigen::Index c = 0; c < B; ++c) {
        RandomStream r(7, 1, 2, static_cast<std::uint64_t>(c));
        for (Eigen::Index i = 0; i < 20; ++i)
            x(i, c) = r.uniform() < 0.4 ? 0.6f + 0.4f * static_cast<float>(r.uniform()) : 0.05f * static_cast<float>(r.uniform());
    }
    return x;
}

SpikingSettings settings(double step_ms) {
    SpikingSettings s;
    s.step_ms = step_ms;
    return s;
}

}  // namespace

TEST_CASE("vem spiking: the Softplus rate function fires at rho_max softplus(beta (V - theta))") {
    // 200 neurons at a constant V (v_init = the leak target, no input): spikes are
    // Poisson with the closed-form rate; the count is tested at the two-sided 0.1% level.
    StochasticParams p;
    p.rate_function = RateFunction::Softplus;
    p.rho_max_hz = 50.0, p.beta_per_mV = 2.0, p.theta_mV = 0.5, p.drive_mV = 0.8, p.v_init_mV = 0.8;
    NetworkSpec spec;
    spec.run.duration_ms = 2000.0;
    spec.populations = {PopulationSpec{"n", 200, p}};
    spec.record.rates = {RateProbeSpec{"n", {0}, 1000.0, RateReadout::Model, 100.0, 100.0}};
    Simulation sim(spec);
    sim.run();
    const double u = 2.0 * (0.8 - 0.5), rho = 50.0 * std::log1p(std::exp(u));
    CHECK(sim.rate_samples().front().rate_hz == doctest::Approx(rho).epsilon(1e-12));
    const double expected = rho * 2.0 * 200.0;  // Hz x s x neurons
    const double z = (static_cast<double>(sim.summary(0).spikes) - expected) / std::sqrt(expected);
    CHECK(std::abs(z) < 3.29);
    p.noise_sigma_mV = 0.1;  // a noisy V has no bound for the thinning
    spec.populations = {PopulationSpec{"n", 200, p}};
    CHECK_THROWS_AS(Simulation{spec}, std::invalid_argument);
}

TEST_CASE("vem spiking: the init spike puts h at the start of INFERENCE") {
    // Sample 0 is 1 us after the init spike: no other spike can have arrived
    // (every population is silent before it, and the delay is 0.1 ms), and h1's
    // leak moves V by less than (delta / alpha) f1(x) x 1 us / (step / alpha) ~ 1e-6.
    const Model m = small_model();
    const Matrix x = digits(2);
    const InferenceError e = spiking_inference_error(m, x, settings(10.0));
    CHECK(e.h1.front() < 1e-5);
    CHECK(e.h2.front() < 1e-5);
    CHECK(e.h1.back() > 1e-3);  // and the spiking run does move
}

TEST_CASE("vem spiking: h converges to INFERENCE as the simulated time per iteration grows") {
    // The error is the integrated shot noise of the spike trains (and the
    // filters' noise and lag), all of which fall like 1 / sqrt(R step_ms) with
    // filter_ms = step_ms / 4: from 10 to 160 ms per iteration it should fall
    // fourfold.  Over 10 seeds (6 digits each) the end errors were, mean +- sd:
    //   step 10 ms:  h1 0.140 +- 0.014, h2 0.29 +- 0.05;
    //   step 40 ms:  h1 0.067 +- 0.006, h2 0.13 +- 0.024;
    //   step 160 ms: h1 0.034 +- 0.004, h2 0.067 +- 0.007.
    // The orderings checked hold by more than 4 sd of the difference (h2 is
    // compared between 10 and 160 ms only: 10 to 40 and 40 to 160 are 2.5 to
    // 3 sd apart), and the bounds at 160 ms are more than 4 sd above the mean
    // (the test is seeded: these say how unlikely a correct implementation is
    // to fail with another seed).
    const Model m = small_model();
    const Matrix x = digits(6);
    double h1[3], h2[3];
    const double steps[3] = {10.0, 40.0, 160.0};
    for (int q = 0; q < 3; ++q) {
        const InferenceError e = spiking_inference_error(m, x, settings(steps[q]));
        h1[q] = e.h1.back();
        h2[q] = e.h2.back();
        // The continuous-time limit differs from INFERENCE by far less than the spiking error.
        CHECK(e.ode_floor_h1 < 0.01);
        CHECK(e.ode_floor_h2 < 0.01);
    }
    CHECK(h1[1] < h1[0]);
    CHECK(h1[2] < h1[1]);
    CHECK(h2[2] < h2[0]);
    CHECK(h1[2] < 0.05);
    CHECK(h2[2] < 0.10);
}

TEST_CASE("vem spiking: with f1(x) from spiking populations too, h converges to INFERENCE") {
    // spiking_f1x: x is a Poisson source and f1(x) reaches h1 through a map
    // population, adding its shot noise.  Over 8 seeds (3 digits) the end errors were
    //   step 10 ms:  h1 0.178 +- 0.015, h2 0.25 +- 0.04;
    //   step 160 ms: h1 0.045 +- 0.002, h2 0.064 +- 0.012;
    // the orderings hold by more than 4.5 sd of the difference, the bounds are
    // more than 4.5 sd above the means.
    const Model m = small_model();
    const Matrix x = digits(3);
    SpikingSettings s = settings(10.0);
    s.spiking_f1x = true;
    const InferenceError fast = spiking_inference_error(m, x, s);
    s.step_ms = 160.0;
    const InferenceError slow = spiking_inference_error(m, x, s);
    CHECK(fast.h1.front() < 1e-5);
    CHECK(slow.h1.back() < fast.h1.back());
    CHECK(slow.h2.back() < fast.h2.back());
    CHECK(slow.h1.back() < 0.055);
    CHECK(slow.h2.back() < 0.12);
}

TEST_CASE("vem spiking: the results do not depend on the thread count") {
    const Model m = small_model();
    const Matrix x = digits(1);
    SpikingSettings s = settings(10.0);
    s.spiking_f1x = true;
    const Ranges r = ranges(m, x, s);
    Simulation two(spiking_network(m, x.col(0), s, r, true), 2, Partitioning::Exact);
    REQUIRE(two.partitions() == 2);  // the network really runs split
    MStepSettings ms;
    s.threads = 1;
    const SpikingRun a = run_spiking(m, x.col(0), s, &ms);
    s.threads = 2;
    s.partitioning = Partitioning::Exact;
    const SpikingRun b = run_spiking(m, x.col(0), s, &ms);
    REQUIRE(a.h1.size() == b.h1.size());
    for (std::size_t k = 0; k < a.h1.size(); ++k) {
        CHECK(a.h1[k] == b.h1[k]);
        CHECK(a.h2[k] == b.h2[k]);
        CHECK(a.h1_exp[k] == b.h1_exp[k]);
    }
    REQUIRE(a.dW.size() == 4);
    for (std::size_t k = 0; k < 4; ++k) CHECK(a.dW[k] == b.dW[k]);
    CHECK(a.spikes == b.spikes);
    CHECK(a.spikes > 0);
}

TEST_CASE("vem spiking: the M-step leaves the inference unchanged") {
    // Its learners feed nothing and its streams are keyed by their own names.
    const Model m = small_model();
    const Matrix x = digits(1);
    MStepSettings ms;
    const SpikingRun with = run_spiking(m, x.col(0), settings(10.0), &ms);
    const SpikingRun without = run_spiking(m, x.col(0), settings(10.0));
    for (std::size_t k = 0; k < with.h1.size(); ++k) {
        CHECK(with.h1[k] == without.h1[k]);
        CHECK(with.h2[k] == without.h2[k]);
    }
    CHECK(with.nudge_mid_ms.size() % 2 == 0);
    CHECK(!with.nudge_mid_ms.empty());
}

TEST_CASE("vem spiking: Eq. 1 during inference follows the rate-based M-step of every map") {
    // 3 digits, 40 ms per iteration.  Over 12 seeds, cos(spiking dW, rate dW) was
    // f1 0.967 +- 0.009, f2 0.86 +- 0.07, g2 0.906 +- 0.018, g1 0.949 +- 0.003
    // (smallest 0.947, 0.715, 0.872, 0.945); the larger of the null guess's
    // cosine (fixed: 0.37, -0.27, 0.16, -0.07) and the shuffled-sign cosine
    // (sd 0.08 to 0.13 over seeds) stayed below it by 0.575 at least.  The
    // margin asked here, 0.3, is more than 4 sd of that gap below its mean for
    // every map; the cosine floor 0.6 is nearly 4 sd below f2's mean.
    const Model m = small_model();
    const Matrix x = digits(3);
    const MStepResult r = spiking_m_step(m, x, settings(40.0), MStepSettings{});
    REQUIRE(r.maps.size() == 4);
    for (const MapAlignment& a : r.maps) {
        CAPTURE(a.map);
        CAPTURE(a.cosine);
        CAPTURE(a.null_cosine);
        CAPTURE(a.shuffled_cosine);
        CHECK(a.cosine > 0.6);
        CHECK(a.cosine - std::max(a.null_cosine, a.shuffled_cosine) > 0.3);
        CHECK(a.cosine_beyond_null > 0.6);
    }
    // The rate reference itself: eq1_rate_update at INFERENCE's h, same shapes as the maps.
    CHECK(r.dW_rate[0].rows() == 30);
    CHECK(r.dW_rate[0].cols() == 20);
    CHECK(r.dW_spiking[3].rows() == 20);
    CHECK(r.dW_spiking[3].cols() == 30);
}

TEST_CASE("vem spiking: bad settings are refused with a message") {
    const Model m = small_model();
    const Matrix x = digits(1);
    SpikingSettings s = settings(10.0);
    s.inference.alpha = 0.0f;  // h1's leak would be infinite
    CHECK_THROWS_AS(run_spiking(m, x.col(0), s), std::invalid_argument);
    s = settings(0.05);  // shorter than the delay
    CHECK_THROWS_AS(run_spiking(m, x.col(0), s), std::invalid_argument);
    CHECK_THROWS_AS(run_spiking(m, Vector::Zero(7), settings(10.0)), std::invalid_argument);
    MStepSettings ms;
    ms.nudge_ms = ms.cycle_ms;
    CHECK_THROWS_AS(run_spiking(m, x.col(0), settings(10.0), &ms), std::invalid_argument);
}
