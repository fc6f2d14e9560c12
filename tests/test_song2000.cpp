// The Song, Miller & Abbott (2000) example ends bimodal.
#include <doctest/doctest.h>

#include "io/spec_loader.hpp"
#include "network/simulation.hpp"

using namespace spikeem;

TEST_CASE("song2000 example: additive STDP drives the weights to the two bounds") {
    // Criterion (examples/song2000/README.md): at the end at least 80% of the
    // weights are below 0.1 w_max or above 0.9 w_max, and each group holds at
    // least 5%.  The uniform initial weights hold 20% and 10% there.
    io::LoadedSpec spec = io::load_spec_file(std::string(SPIKEEM_SOURCE_DIR) + "/examples/song2000/song2000.pbtxt");
    const double w_max = spec.spec.projections.at(0).plasticity->w_max_mV;
    Simulation sim(spec.spec);
    sim.run();
    std::size_t low = 0, high = 0, n = 0;
    for (const auto& w : sim.weights_now(0)) {
        low += w.w < 0.1 * w_max;
        high += w.w > 0.9 * w_max;
        ++n;
    }
    REQUIRE(n == 1000);
    CAPTURE(low);
    CAPTURE(high);
    CHECK(static_cast<double>(low + high) / n >= 0.8);
    CHECK(static_cast<double>(low) / n >= 0.05);
    CHECK(static_cast<double>(high) / n >= 0.05);
}
