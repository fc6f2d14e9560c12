// spikeem._core.gradcheck: `spikeem gradcheck` without files (io/cli_grad.hpp).
#include <pybind11/stl.h>

#include "io/cli_grad.hpp"
#include "python/experiments.hpp"

namespace py = pybind11;

namespace spikeem::python {
namespace {

// alignment.csv's columns.
py::dict alignment_columns(const GradcheckResult& r) {
    using P = AlignmentPoint;
    const auto& p = r.points;
    py::dict d;
    d["t_ms"] = column_of<double>(p, [](const P& q) { return q.t_ms; });
    d["seed"] = column_of<std::uint64_t>(p, [](const P& q) { return q.seed; });
    d["layer"] = strings_of(p, [&](const P& q) { return r.groups[q.group].name; });
    d["cosine"] = column_of<double>(p, [](const P& q) { return q.cosine; });
    d["null_cosine"] = column_of<double>(p, [](const P& q) { return q.null_cosine; });
    d["shuffled_cosine"] = column_of<double>(p, [](const P& q) { return q.shuffled_cosine; });
    d["cosine_beyond_null"] = column_of<double>(p, [](const P& q) { return q.cosine_beyond_null; });
    d["pearson"] = column_of<double>(p, [](const P& q) { return q.pearson; });
    d["slope"] = column_of<double>(p, [](const P& q) { return q.slope; });
    d["rel_error"] = column_of<double>(p, [](const P& q) { return q.rel_error; });
    return d;
}

// alignment_summary.csv's columns.
py::dict summary_columns(const GradcheckResult& r, const std::vector<AlignmentSummary>& s) {
    using A = AlignmentSummary;
    py::dict d;
    d["t_ms"] = column_of<double>(s, [](const A& a) { return a.t_ms; });
    d["layer"] = strings_of(s, [&](const A& a) { return r.groups[a.group].name; });
    d["seeds"] = column_of<std::int64_t>(s, [](const A& a) { return a.seeds; });
    const std::pair<const char*, MeanSe A::*> stats[] = {
        {"cosine", &A::cosine}, {"null_cosine", &A::null_cosine}, {"shuffled_cosine", &A::shuffled_cosine},
        {"gap", &A::gap}, {"cosine_beyond_null", &A::cosine_beyond_null}, {"slope", &A::slope},
        {"rel_error", &A::rel_error}};
    for (const auto& [name, field] : stats) {
        d[py::str(std::string(name) + "_mean")] = column_of<double>(s, [f = field](const A& a) { return (a.*f).mean; });
        d[py::str(std::string(name) + "_se")] = column_of<double>(s, [f = field](const A& a) { return (a.*f).se; });
    }
    d["expected_cosine"] = column_of<double>(s, [&](const A& a) { return r.groups[a.group].expected_cosine; });
    d["aligned"] = column_of<bool>(s, [](const A& a) { return a.aligned; });
    return d;
}

// dw.csv's columns: per seed and weight at the longest duration.
py::dict dw_columns(const io::GradcheckRun& run) {
    struct Row {
        std::uint64_t seed;
        std::size_t index;
        std::size_t k;
    };
    const GradcheckResult& r = run.result;
    std::vector<Row> rows;
    for (std::size_t k = 0; k < run.options.seeds.size(); ++k)
        for (std::size_t q = 0; q < r.final_dw[k].size(); ++q) rows.push_back({run.options.seeds[k], q, k});
    py::dict d;
    d["seed"] = column_of<std::uint64_t>(rows, [](const Row& w) { return w.seed; });
    d["index"] = column_of<std::int64_t>(rows, [](const Row& w) { return w.index; });
    d["layer"] = strings_of(rows, [&](const Row& w) { return io::weight_layer(r, w.index); });
    d["dJ_dW"] = column_of<double>(rows, [&](const Row& w) { return r.gradients[w.k][w.index]; });
    d["expected_dW"] = column_of<double>(rows, [&](const Row& w) { return r.final_expected[w.k][w.index]; });
    d["null_guess"] = column_of<double>(rows, [&](const Row& w) { return r.null_guess[w.k][w.index]; });
    d["dW"] = column_of<double>(rows, [&](const Row& w) { return r.final_dw[w.k][w.index]; });
    return d;
}

}  // namespace

void bind_grad(py::module_& m) {
    m.def(
        "gradcheck",
        [](const io::LoadedSpec& spec, const std::string& origin, int seeds, std::optional<double> duration_ms,
           int threads) {
            io::GradcheckCommandOptions o;
            o.seeds = seeds;
            o.duration_ms = duration_ms;
            o.threads = threads;
            const io::GradcheckRun run = without_gil([&] { return io::run_gradcheck_command(spec, origin, o); });
            py::dict d;
            d["alignment"] = alignment_columns(run.result);
            d["summary"] = summary_columns(run.result, run.summary);
            d["dw"] = dw_columns(run);
            d["json"] = io::gradcheck_json(origin, spec, run);
            return d;
        },
        py::arg("spec"), py::arg("origin"), py::kw_only(), py::arg("seeds"), py::arg("duration_ms").none(true),
        py::arg("threads"), "spikeem gradcheck's run (use spikeem.gradcheck)");
}

}  // namespace spikeem::python
