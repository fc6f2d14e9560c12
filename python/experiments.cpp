#include "python/experiments.hpp"

namespace spikeem::python {

void bind_experiments(pybind11::module_& m) {
    bind_stdp(m);
    bind_eq1(m);
    bind_grad(m);
    bind_em(m);
}

}  // namespace spikeem::python
