#pragma once
// The experiment drivers of the command line for Python (bind_*.cpp): each
// binding fills the command's options struct (io/cli_*.hpp) from keyword
// arguments, runs it with the GIL released, and returns plain data: NumPy
// columns and JSON text (which python/spikeem/experiments.py parses into
// dicts).  The checks are the command line's own; their messages name the
// option as a flag (--dt-min-ms), which becomes the keyword (dt_min_ms).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "io/cli_common.hpp"

namespace spikeem::python {

void bind_experiments(pybind11::module_& m);
void bind_stdp(pybind11::module_& m);   // stdp_curve (bind_stdp.cpp)
void bind_eq1(pybind11::module_& m);    // eq1_curve, drift (bind_eq1.cpp)
void bind_grad(pybind11::module_& m);   // gradcheck (bind_grad.cpp)
void bind_em(pybind11::module_& m);     // em_train, em_eval (bind_em.cpp)

// A command-line message in Python's words: "--a-plus-mV" becomes "a_plus_mV".
inline std::string keyword_message(const std::string& message) {
    static const std::regex flag("--([A-Za-z][A-Za-z0-9-]*)");
    std::string out;
    auto last = message.cbegin();
    for (std::sregex_iterator it(message.begin(), message.end(), flag), end; it != end; ++it) {
        out.append(last, (*it)[0].first);
        std::string name = (*it)[1].str();
        for (char& c : name)
            if (c == '-') c = '_';
        out += name;
        last = (*it)[0].second;
    }
    out.append(last, message.cend());
    return out;
}

// Runs `f` without the GIL; a usage error (a bad option value) becomes a ValueError.
template <class F>
auto without_gil(F&& f) {
    try {
        pybind11::gil_scoped_release unlocked;
        return std::forward<F>(f)();
    } catch (const io::UsageError& e) {
        throw pybind11::value_error(keyword_message(e.what()));
    }
}

// A NumPy column of `rows`, one value per row.
template <class T, class Row, class Get>
pybind11::array_t<T> column_of(const std::vector<Row>& rows, Get get) {
    pybind11::array_t<T> a(static_cast<pybind11::ssize_t>(rows.size()));
    auto v = a.template mutable_unchecked<1>();
    for (std::size_t i = 0; i < rows.size(); ++i) v(static_cast<pybind11::ssize_t>(i)) = static_cast<T>(get(rows[i]));
    return a;
}

// A column of strings (a list: NumPy's fixed-width strings would truncate nothing here but read worse).
template <class Row, class Get>
pybind11::list strings_of(const std::vector<Row>& rows, Get get) {
    pybind11::list l;
    for (const auto& r : rows) l.append(pybind11::str(std::string(get(r))));
    return l;
}

}  // namespace spikeem::python
