#pragma once
// Objectives: the rate-based reference that spiking plasticity is measured
// against (SCIENCE.md sections 1 and 4).  Plain C++, no spikes: J, dJ/dV and
// dJ/dW from rates.  Weights are flat vectors in the order of a projection's
// (pre, post) pairs as the caller lays them out; each objective documents its
// layout.  dJ/dW is the exact gradient of J (checked against central finite
// differences in tests/test_objectives.cpp).
#include <cstddef>
#include <string>
#include <vector>

namespace spikeem::objective {

class Objective {
public:
    virtual ~Objective() = default;
    virtual std::string name() const = 0;
    virtual std::size_t num_weights() const = 0;
    virtual double J(const std::vector<double>& w) const = 0;
    virtual std::vector<double> dJ_dW(const std::vector<double>& w) const = 0;
};

// 1. Supervised layer (the delta-rule case).  n_in inputs with rates rho_i,
// n_out outputs with V_j = offset_j + scale * sum_i W_ij rho_i and
// J = -1/2 sum_j (y_j - V_j)^2, so dJ/dV_j = y_j - V_j and
// dJ/dW_ij = (y_j - V_j) * scale * rho_i.  W is laid out pre-major:
// w[i * n_out + j].  For a leaky neuron with delta synapses (weights in mV)
// and input rates in 1/ms, scale = tau_m (ms) and offset = v_rest + drive.
class SupervisedLayer final : public Objective {
public:
    SupervisedLayer(std::vector<double> rho, std::vector<double> y, std::vector<double> offset, double scale);
    std::string name() const override { return "supervised"; }
    std::size_t num_weights() const override { return rho_.size() * y_.size(); }
    double J(const std::vector<double>& w) const override;
    std::vector<double> dJ_dW(const std::vector<double>& w) const override;
    std::vector<double> V(const std::vector<double>& w) const;
    std::vector<double> dJ_dV(const std::vector<double>& w) const;
    std::size_t n_in() const { return rho_.size(); }
    std::size_t n_out() const { return y_.size(); }

private:
    std::vector<double> rho_, y_, offset_;
    double scale_;
};

}  // namespace spikeem::objective
