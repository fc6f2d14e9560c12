#pragma once
// A synthetic image set for small models: one to three horizontal or vertical
// strokes of ink 0.8 to 1 on a faint background (0.02), side x side pixels.
// Structure a model of a few dozen units learns in seconds: what the tests and
// `spikeem em-spiking-train` use.  Image c is drawn from its own Philox stream
// keyed by (seed, c), so a set's first images do not depend on its size.
#include <cstdint>

#include "experiments/vem/model.hpp"

namespace spikeem::vem {

Matrix stroke_images(Eigen::Index n, int side, std::uint64_t seed);

}  // namespace spikeem::vem
