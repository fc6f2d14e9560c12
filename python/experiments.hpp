#pragma once
// The experiment drivers of experiments/ for Python: each returns plain data
// (dicts of lists and NumPy arrays), as the command line's drivers do.
#include <pybind11/pybind11.h>

namespace spikeem::python {

void bind_experiments(pybind11::module_& m);

}  // namespace spikeem::python
