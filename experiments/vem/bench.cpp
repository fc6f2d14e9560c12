#include "experiments/vem/bench.hpp"

#include <chrono>
#include <vector>

#include "experiments/vem/chunks.hpp"

namespace spikeem::vem {

double training_flops_per_example(const Model& m, const TrainSettings& s) {
    const double x = static_cast<double>(m.n_x()), h1 = static_cast<double>(m.n_h1()),
                 h2 = static_cast<double>(m.n_h2());
    const double start = 2 * (x * h1 + h1 * h2);
    const double iteration = 2 * (4 * h1 * h2 + 2 * x * h1);
    const double m_step = 2 * 2 * (2 * x * h1 + 2 * h1 * h2);  // forward and gradient of f1, g1, f2, g2
    return start + s.inference.steps * iteration + m_step;
}

double gemm_reference_gflops(const Model& m, Eigen::Index chunks, double min_seconds) {
    const Eigen::Index n = chunks * kChunk;
    // Inputs and outputs per chunk, allocated once.
    const Matrix x = Matrix::Random(m.n_x(), n), h1 = Matrix::Random(m.n_h1(), n), h2 = Matrix::Random(m.n_h2(), n);
    Matrix out_h1(m.n_h1(), n), out_h2(m.n_h2(), n), out_x(m.n_x(), n);
    const double flops_per_round = static_cast<double>(n) * 2.0 *
        static_cast<double>(4 * m.n_h1() * m.n_h2() + 2 * m.n_x() * m.n_h1());
    const auto t0 = std::chrono::steady_clock::now();
    double seconds = 0;
    long rounds = 0;
    while (seconds < min_seconds) {
        for_chunks(n, [&](Eigen::Index c0, Eigen::Index k) {
            out_h2.middleCols(c0, k).noalias() = m.f2.W * h1.middleCols(c0, k);
            out_h1.middleCols(c0, k).noalias() = m.g2.W * h2.middleCols(c0, k);
            out_h2.middleCols(c0, k).noalias() += m.f2.W * out_h1.middleCols(c0, k);
            out_h1.middleCols(c0, k).noalias() += m.g2.W * out_h2.middleCols(c0, k);
            out_x.middleCols(c0, k).noalias() = m.g1.W * h1.middleCols(c0, k);
            out_h1.middleCols(c0, k).noalias() += m.f1.W * out_x.middleCols(c0, k);
        });
        ++rounds;
        seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    return flops_per_round * static_cast<double>(rounds) / seconds / 1e9;
}

}  // namespace spikeem::vem
