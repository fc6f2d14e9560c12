#pragma once
// Parallel work over the columns (examples) of a matrix in fixed chunks.
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <Eigen/Core>
#include <algorithm>

#include "experiments/vem/model.hpp"

namespace spikeem::vem {

// Calls f(first_column, count) for the chunks [0, kChunk), [kChunk, 2 kChunk),
// ... of n columns, in parallel.  The chunks are the same for any thread
// count, and f must write only its own columns.
template <class F>
void for_chunks(Eigen::Index n, F&& f) {
    const Eigen::Index chunks = (n + kChunk - 1) / kChunk;
    tbb::parallel_for(tbb::blocked_range<Eigen::Index>(0, chunks, 1),
                      [&](const tbb::blocked_range<Eigen::Index>& r) {
                          for (Eigen::Index c = r.begin(); c != r.end(); ++c)
                              f(c * kChunk, std::min(kChunk, n - c * kChunk));
                      },
                      tbb::simple_partitioner());
}

}  // namespace spikeem::vem
