#include "plasticity/objectives.hpp"

#include <stdexcept>

namespace spikeem::objective {

SupervisedLayer::SupervisedLayer(std::vector<double> rho, std::vector<double> y, std::vector<double> offset,
                                 double scale)
    : rho_(std::move(rho)), y_(std::move(y)), offset_(std::move(offset)), scale_(scale) {
    if (offset_.size() != y_.size()) throw std::invalid_argument("SupervisedLayer: one offset per output");
}

std::vector<double> SupervisedLayer::V(const std::vector<double>& w) const {
    std::vector<double> v = offset_;
    for (std::size_t i = 0; i < rho_.size(); ++i)
        for (std::size_t j = 0; j < y_.size(); ++j) v[j] += scale_ * w[i * y_.size() + j] * rho_[i];
    return v;
}

std::vector<double> SupervisedLayer::dJ_dV(const std::vector<double>& w) const {
    std::vector<double> v = V(w);
    for (std::size_t j = 0; j < y_.size(); ++j) v[j] = y_[j] - v[j];
    return v;
}

double SupervisedLayer::J(const std::vector<double>& w) const {
    double j = 0.0;
    for (double e : dJ_dV(w)) j -= 0.5 * e * e;
    return j;
}

std::vector<double> SupervisedLayer::dJ_dW(const std::vector<double>& w) const {
    const std::vector<double> e = dJ_dV(w);
    std::vector<double> g(num_weights());
    for (std::size_t i = 0; i < rho_.size(); ++i)
        for (std::size_t j = 0; j < y_.size(); ++j) g[i * y_.size() + j] = e[j] * scale_ * rho_[i];
    return g;
}

}  // namespace spikeem::objective
