#include "network/population.hpp"

#include <algorithm>

namespace spikeem {

double draw(const Distribution& d, RandomStream& rng) {
    struct Visitor {
        RandomStream& rng;
        double operator()(double c) const { return c; }
        double operator()(const UniformDist& u) const { return rng.uniform(u.low, u.high); }
        double operator()(const NormalDist& n) const {
            return std::clamp(n.mean + n.std * rng.normal(), n.low, n.high);
        }
    };
    return std::visit(Visitor{rng}, d);
}

}  // namespace spikeem
