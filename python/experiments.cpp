#include "python/experiments.hpp"

namespace spikeem::python {

void bind_experiments(pybind11::module_& m) { (void)m; }

}  // namespace spikeem::python
