// spikeem._core.em_train and em_eval: `spikeem em-train` and `em-eval`
// (io/cli_em.hpp), which write their folders as the commands do (no plots).
#include <pybind11/stl.h>

#include "io/cli_em.hpp"
#include "python/experiments.hpp"

namespace py = pybind11;

namespace spikeem::python {
namespace {

// train.csv's columns.
py::dict history_columns(const proto::VemModel& model) {
    using R = io::TrainCsvRow;
    const std::vector<R> rows = io::train_csv_rows(model);
    py::dict d;
    d["epoch"] = column_of<std::int64_t>(rows, [](const R& r) { return r.epoch; });
    d["layer"] = column_of<std::int64_t>(rows, [](const R& r) { return r.layer; });
    d["reconstruction_loss"] = column_of<double>(rows, [](const R& r) { return r.reconstruction_loss; });
    d["prediction_loss"] = column_of<double>(rows, [](const R& r) { return r.prediction_loss; });
    d["log_p_xh"] = column_of<double>(rows, [](const R& r) { return r.log_p_xh; });
    d["examples_per_s"] = column_of<double>(rows, [](const R& r) { return r.examples_per_s; });
    d["h_norm"] = column_of<double>(rows, [](const R& r) { return r.h_norm; });
    d["val_ll_generate"] = column_of<double>(rows, [](const R& r) { return r.val_ll_generate; });
    d["val_ll_ancestral"] = column_of<double>(rows, [](const R& r) { return r.val_ll_ancestral; });
    return d;
}

// inference.csv's columns.
py::dict inference_columns(const std::vector<io::InferenceCsvRow>& rows) {
    using R = io::InferenceCsvRow;
    py::dict d;
    d["alpha"] = column_of<float>(rows, [](const R& r) { return r.alpha; });
    d["iteration"] = column_of<std::int64_t>(rows, [](const R& r) { return r.iteration; });
    d["term"] = strings_of(rows, [](const R& r) { return r.term; });
    d["mean"] = column_of<double>(rows, [](const R& r) { return r.mean; });
    d["se"] = column_of<double>(rows, [](const R& r) { return r.se; });
    return d;
}

}  // namespace

void bind_em(py::module_& m) {
    m.def(
        "em_train",
        [](std::string data, std::string out, int epochs, int limit, std::uint64_t seed, float learning_rate,
           int eval_every, bool resume, int stop_after, bool quiet, int threads) {
            io::EmTrainOptions o;
            o.data = std::move(data);
            o.out = out;
            o.epochs = epochs;
            o.limit = limit;
            o.seed = seed;
            o.learning_rate = learning_rate;
            o.eval_every = eval_every;
            o.resume = resume;
            o.stop_after = stop_after;
            o.quiet = quiet;
            o.threads = threads;
            const io::EmTrainResult r = without_gil([&] { return io::run_em_train(o); });
            py::dict d;
            d["history"] = history_columns(r.model);
            d["finished"] = r.finished;
            d["epochs_done"] = r.model.epochs_done();
            d["wall_time_s"] = r.wall_s;
            return d;
        },
        py::arg("data"), py::arg("out"), py::kw_only(), py::arg("epochs"), py::arg("limit"), py::arg("seed"),
        py::arg("learning_rate"), py::arg("eval_every"), py::arg("resume"), py::arg("stop_after"), py::arg("quiet"),
        py::arg("threads"), "spikeem em-train's run (use spikeem.em_train)");
    m.def(
        "em_eval",
        [](std::string run, std::string data, std::string out, std::optional<int> samples, std::string split,
           std::uint64_t seed, bool spiking, double spiking_step_ms, bool quiet, int threads) {
            io::EmEvalOptions o;
            o.run = std::move(run);
            o.data = std::move(data);
            o.out = out;
            o.samples = samples;
            o.split = std::move(split);
            o.seed = seed;
            o.spiking = spiking;
            o.spiking_step_ms = spiking_step_ms;
            o.quiet = quiet;
            o.threads = threads;
            const io::EmEvalResult r = without_gil([&] { return io::run_em_eval(o); });
            py::dict d;
            d["json"] = r.parzen_json;
            d["inference"] = inference_columns(r.inference);
            d["wall_time_s"] = r.wall_s;
            return d;
        },
        py::arg("run"), py::arg("data"), py::arg("out"), py::kw_only(), py::arg("samples").none(true),
        py::arg("split"), py::arg("seed"), py::arg("spiking"), py::arg("spiking_step_ms"), py::arg("quiet"),
        py::arg("threads"), "spikeem em-eval's run (use spikeem.em_eval)");
}

}  // namespace spikeem::python
