#include "io/vem_model_io.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace spikeem::io {
namespace fs = std::filesystem;

namespace {

struct MapSlot {
    const char* name;
    vem::Map vem::Model::*map;
};
constexpr std::array<MapSlot, 4> kMaps{{{"f1", &vem::Model::f1},
                                        {"f2", &vem::Model::f2},
                                        {"g2", &vem::Model::g2},
                                        {"g1", &vem::Model::g1}}};

void store_map(const vem::Map& m, const char* name, proto::DenseMap& out) {
    out.set_name(name);
    out.set_activation(vem::activation_name(m.act));
    out.set_rows(static_cast<std::uint32_t>(m.out()));
    out.set_cols(static_cast<std::uint32_t>(m.in()));
    // Row-major on disk, whatever Eigen's storage order.
    const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> w = m.W;
    out.mutable_weights()->Assign(w.data(), w.data() + w.size());
    out.mutable_biases()->Assign(m.b.data(), m.b.data() + m.b.size());
}

vem::Map load_map(const proto::DenseMap& p, const char* name, Eigen::Index rows, Eigen::Index cols,
                  const std::string& file) {
    const std::string where = fmt::format("{}: map {} ({})", file, name, p.name());
    if (p.name() != name) throw VemModelError(fmt::format("{}: expected the map named {} here", where, name));
    vem::Map m;
    if (p.activation() == "softplus") m.act = vem::Activation::softplus;
    else if (p.activation() == "sigmoid") m.act = vem::Activation::sigmoid;
    else throw VemModelError(fmt::format("{}: activation \"{}\", expected softplus or sigmoid", where, p.activation()));
    if (p.rows() != rows || p.cols() != cols || p.weights_size() != rows * cols || p.biases_size() != rows)
        throw VemModelError(fmt::format("{}: {} x {} with {} weights and {} biases, expected {} x {} with {} and {}",
                                        where, p.rows(), p.cols(), p.weights_size(), p.biases_size(), rows, cols,
                                        rows * cols, rows));
    m.W = Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(p.weights().data(),
                                                                                                   rows, cols);
    m.b = Eigen::Map<const vem::Vector>(p.biases().data(), rows);
    return m;
}

}  // namespace

void store_model(const vem::Model& m, proto::VemModel& out) {
    out.set_format_version(kVemFormatVersion);
    out.clear_map();
    for (const MapSlot& s : kMaps) store_map(m.*s.map, s.name, *out.add_map());
    out.mutable_prior_mean()->Assign(m.prior_mean.data(), m.prior_mean.data() + m.prior_mean.size());
    out.mutable_prior_var()->Assign(m.prior_var.data(), m.prior_var.data() + m.prior_var.size());
}

vem::Model load_model(const proto::VemModel& msg, const std::string& file) {
    if (msg.format_version() != kVemFormatVersion)
        throw VemModelError(fmt::format("{}: format_version {}, this spikeem reads {}", file, msg.format_version(),
                                        kVemFormatVersion));
    if (msg.map_size() != 4)
        throw VemModelError(fmt::format("{}: {} maps, expected 4 (f1, f2, g2, g1)", file, msg.map_size()));
    const Eigen::Index n_x = msg.map(0).cols(), n_h1 = msg.map(0).rows(), n_h2 = msg.map(1).rows();
    const Eigen::Index shape[4][2] = {{n_h1, n_x}, {n_h2, n_h1}, {n_h1, n_h2}, {n_x, n_h1}};
    vem::Model m;
    for (int k = 0; k < 4; ++k) m.*kMaps[k].map = load_map(msg.map(k), kMaps[k].name, shape[k][0], shape[k][1], file);
    if (msg.prior_mean_size() != msg.prior_var_size() || (msg.prior_mean_size() != 0 && msg.prior_mean_size() != n_h2))
        throw VemModelError(fmt::format("{}: prior of {} means and {} variances, expected {} each (or none)", file,
                                        msg.prior_mean_size(), msg.prior_var_size(), n_h2));
    for (float v : msg.prior_var())
        if (!(v > 0)) throw VemModelError(fmt::format("{}: prior variance {}, expected > 0", file, v));
    m.prior_mean = Eigen::Map<const vem::Vector>(msg.prior_mean().data(), msg.prior_mean_size());
    m.prior_var = Eigen::Map<const vem::Vector>(msg.prior_var().data(), msg.prior_var_size());
    return m;
}

proto::VemTrainSettings settings_proto(const vem::TrainSettings& s, unsigned limit, unsigned n_h1, unsigned n_h2) {
    proto::VemTrainSettings p;
    p.set_epochs(static_cast<std::uint32_t>(s.epochs));
    p.set_batch(static_cast<std::uint32_t>(s.batch));
    p.set_learning_rate(s.learning_rate);
    p.set_corruption_x(s.corruption_x);
    p.set_corruption_h1(s.corruption_h1);
    p.set_bernoulli_samples(static_cast<std::uint32_t>(s.bernoulli_samples));
    p.set_prior_var_scale(s.prior_var_scale);
    p.set_inference_steps(static_cast<std::uint32_t>(s.inference.steps));
    p.set_inference_delta(s.inference.delta);
    p.set_inference_alpha(s.inference.alpha);
    p.set_seed(s.seed);
    p.set_limit(limit);
    p.set_n_h1(n_h1);
    p.set_n_h2(n_h2);
    return p;
}

vem::TrainSettings train_settings(const proto::VemTrainSettings& p) {
    vem::TrainSettings s;
    s.epochs = static_cast<int>(p.epochs());
    s.batch = p.batch();
    s.learning_rate = p.learning_rate();
    s.corruption_x = p.corruption_x();
    s.corruption_h1 = p.corruption_h1();
    s.bernoulli_samples = static_cast<int>(p.bernoulli_samples());
    s.prior_var_scale = p.prior_var_scale();
    s.inference = {static_cast<int>(p.inference_steps()), p.inference_delta(), p.inference_alpha()};
    s.seed = p.seed();
    return s;
}

proto::VemModel read_model_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw VemModelError(fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
    proto::VemModel msg;
    if (!msg.ParseFromIstream(&in))
        throw VemModelError(fmt::format("{}: not a spikeem model (binary protobuf VemModel of io/vem.proto)", path.string()));
    load_model(msg, path.string());  // checks shapes and version
    return msg;
}

void write_model_file(const proto::VemModel& msg, const fs::path& path) {
    const fs::path tmp = path.parent_path() / fmt::format(".{}.tmp-{}", path.filename().string(), ::getpid());
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out || !msg.SerializeToOstream(&out) || !out.flush()) {
            std::error_code ec;
            fs::remove(tmp, ec);
            throw std::runtime_error(fmt::format("cannot write {}: {}", tmp.string(), std::strerror(errno)));
        }
    }
    fs::rename(tmp, path);
}

}  // namespace spikeem::io
