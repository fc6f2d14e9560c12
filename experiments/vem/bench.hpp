#pragma once
// What a training epoch costs in arithmetic, and the machine's own speed for
// the same matrix products: the two figures of `spikeem em-bench`.
#include "experiments/vem/train.hpp"

namespace spikeem::vem {

// Floating-point operations (a multiply-add counts 2) of the matrix products
// of one training example: the INFERENCE start (f1, f2), `steps` iterations
// (f2, g2 twice, f2, g1, f1) and the M-step (four maps forward, and their
// weight gradients).  Elementwise work is not counted.
double training_flops_per_example(const Model& m, const TrainSettings& s);

// GFLOP/s of Eigen's matrix product alone on the shapes one training epoch
// uses: the products of an INFERENCE iteration on chunks of kChunk examples,
// `chunks` chunks run in parallel as for_chunks runs them, repeated for at
// least `min_seconds`.  No activations, no allocation: an upper reference.
double gemm_reference_gflops(const Model& m, Eigen::Index chunks, double min_seconds);

}  // namespace spikeem::vem
