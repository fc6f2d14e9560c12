#include "experiments/vem/strokes.hpp"

#include "sim/random.hpp"

namespace spikeem::vem {

Matrix stroke_images(Eigen::Index n, int side, std::uint64_t seed) {
    Matrix x = Matrix::Constant(side * side, n, 0.02f);
    for (Eigen::Index c = 0; c < n; ++c) {
        RandomStream rng(seed, stable_hash("test/strokes"), static_cast<std::uint64_t>(c), 0);
        const int strokes = 1 + static_cast<int>(rng.below(3));
        for (int s = 0; s < strokes; ++s) {
            const bool horizontal = rng.uniform() < 0.5;
            const int line = static_cast<int>(rng.below(static_cast<std::uint64_t>(side)));
            const float ink = 0.8f + 0.2f * static_cast<float>(rng.uniform());
            for (int k = 0; k < side; ++k) x(horizontal ? line * side + k : k * side + line, c) = ink;
        }
    }
    return x;
}

}  // namespace spikeem::vem
