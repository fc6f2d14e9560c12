#include "experiments/vem/spiking_train.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>
#include <utility>

#include "sim/random.hpp"

namespace spikeem::vem {
namespace {

Map& map_at(Model& m, int k) {
    Map* maps[4] = {&m.f1, &m.f2, &m.g2, &m.g1};
    return *maps[k];
}

const Map& map_at(const Model& m, int k) { return map_at(const_cast<Model&>(m), k); }

// The index in kMapNames of every chosen map.
std::vector<int> chosen_indices(const std::vector<std::string>& names) {
    auto fail = [](const std::string& what) { throw std::invalid_argument("vem spiking_train settings: spiking_maps " + what); };
    if (names.empty()) fail("is empty (expected one or more of f1, f2, g2, g1)");
    std::vector<int> out;
    for (const std::string& n : names) {
        const auto* it = std::find_if(std::begin(kMapNames), std::end(kMapNames), [&](const char* k) { return n == k; });
        if (it == std::end(kMapNames)) fail("has \"" + n + "\" (expected f1, f2, g2 or g1)");
        const int k = static_cast<int>(it - std::begin(kMapNames));
        if (std::find(out.begin(), out.end(), k) != out.end()) fail("names \"" + n + "\" twice");
        out.push_back(k);
    }
    return out;
}

void check(const Model& m, const Matrix& train, const Matrix& held_out, const SpikingTrainSettings& s) {
    auto fail = [](const std::string& what) { throw std::invalid_argument("vem spiking_train: " + what); };
    if (s.minibatches < 1) fail("minibatches is " + std::to_string(s.minibatches) + ", expected >= 1");
    if (s.batch < 1 || s.batch > train.cols())
        fail("batch is " + std::to_string(s.batch) + ", expected 1 to the " + std::to_string(train.cols()) + " training columns");
    if (train.rows() != m.n_x() || held_out.rows() != m.n_x() || held_out.cols() < 1)
        fail("train has " + std::to_string(train.rows()) + " rows and held_out " + std::to_string(held_out.rows()) +
             " rows (" + std::to_string(held_out.cols()) + " columns); expected the model's " + std::to_string(m.n_x()) +
             " pixels and at least one held-out column");
}

// (pre, target) of each map's rate-based M-step at h, in kMapNames order.
std::array<std::pair<Matrix, Matrix>, 4> map_io(const Matrix& x, const Hidden& h) {
    return {{{x, h.h1}, {h.h1, h.h2}, {h.h2, h.h1}, {h.h1, x}}};
}

std::vector<double> held_out_losses(const Model& m, const Matrix& x, const Hidden& h) {
    const auto io = map_io(x, h);
    std::vector<double> out;
    for (int k = 0; k < 4; ++k) out.push_back(squared_loss(map_at(m, k), io[k].first, io[k].second));
    return out;
}

// Every map's uncorrupted Eq. 1 rate step at the model's own INFERENCE of x.
std::array<MapUpdate, 4> rate_updates(const Model& m, const Matrix& x, const InferenceSettings& inf) {
    const auto io = map_io(x, infer(m, x, inf));
    std::array<MapUpdate, 4> out;
    for (int k = 0; k < 4; ++k) out[k] = eq1_rate_update(map_at(m, k), io[k].first, io[k].second);
    return out;
}

// Columns first .. first + n - 1 of x, wrapping around.
Matrix cyclic_columns(const Matrix& x, Eigen::Index first, Eigen::Index n) {
    Matrix out(x.rows(), n);
    for (Eigen::Index k = 0; k < n; ++k) out.col(k) = x.col((first + k) % x.cols());
    return out;
}

// The held-out losses of both runs (at their own INFERENCE, and at h_fixed).
void record_losses(SpikingTrainPoint& p, const SpikingTrainResult& r, const Matrix& x, const Hidden& h_fixed,
                   const InferenceSettings& inf) {
    p.loss_rate = held_out_losses(r.rate, x, infer(r.rate, x, inf));
    p.loss_spiking = held_out_losses(r.spiking, x, infer(r.spiking, x, inf));
    p.fixed_loss_rate = held_out_losses(r.rate, x, h_fixed);
    p.fixed_loss_spiking = held_out_losses(r.spiking, x, h_fixed);
}

void step(Map& map, const Matrix& dW, const Vector& db, float learning_rate, bool bias) {
    map.W += learning_rate * dW;
    if (bias) map.b += learning_rate * db;
}

// Run B's spiking M-step of minibatch k (1-based) on x: per chosen map, the
// summed spiking dW / B.  Adds the spiking runs' cost to r.
std::vector<Matrix> spiking_steps(const Model& b, const Matrix& x, int k, const std::vector<int>& chosen,
                                  const SpikingTrainSettings& s, SpikingTrainResult& r) {
    SpikingSettings sp = s.spiking;
    sp.inference = s.train.inference;
    sp.seed = RandomStream(s.spiking.seed, stable_hash("spikeem/vem/spiking_train"), static_cast<std::uint64_t>(k), 0).next_u64();
    const MStepResult ms = spiking_m_step(b, x, sp, s.m_step);
    r.simulated_ms += ms.inference.simulated_ms;
    r.spiking_wall_s += ms.inference.wall_s;
    r.synaptic_events += ms.inference.synaptic_events;
    std::vector<Matrix> out;
    for (int c : chosen) out.push_back(ms.dW_spiking[static_cast<std::size_t>(c)] / static_cast<float>(x.cols()));
    return out;
}

}  // namespace

SpikingTrainResult spiking_train(const Model& start, const Matrix& train, const Matrix& held_out,
                                 const SpikingTrainSettings& s, const SpikingTrainProgress& progress) {
    check(start, train, held_out, s);
    const std::vector<int> chosen = chosen_indices(s.spiking_maps);
    const InferenceSettings& inf = s.train.inference;
    const float lr = s.train.learning_rate;
    SpikingTrainResult r;
    r.maps = s.spiking_maps;
    r.rate = start;
    r.spiking = start;
    const Hidden h_fixed = infer(start, held_out, inf);
    r.curve.emplace_back();
    record_losses(r.curve.back(), r, held_out, h_fixed, inf);
    if (progress) progress(r.curve.back());
    for (int k = 1; k <= s.minibatches; ++k) {
        const Matrix x = cyclic_columns(train, static_cast<Eigen::Index>(k - 1) * s.batch, s.batch);
        const std::array<MapUpdate, 4> ua = rate_updates(r.rate, x, inf), ub = rate_updates(r.spiking, x, inf);
        std::vector<Matrix> sb = spiking_steps(r.spiking, x, k, chosen, s, r);
        SpikingTrainPoint p;
        p.minibatch = k;
        for (std::size_t q = 0; q < chosen.size(); ++q) {
            const auto c = static_cast<std::size_t>(chosen[q]);
            if (k == 1) {  // the common start: ua[c] == ub[c]
                const double ss = dot(sb[q], sb[q]);
                if (!(ss > 0)) throw std::runtime_error("vem spiking_train: the spiking dW of map " + s.spiking_maps[q] + " is zero on the first minibatch");
                r.gain.push_back(dot(ub[c].dW, sb[q]) / ss);
            }
            sb[q] *= static_cast<float>(r.gain[q]);
            p.cosine_same_state.push_back(cosine(sb[q], ub[c].dW));
            p.cosine_runs.push_back(cosine(sb[q], ua[c].dW));
        }
        for (int m = 0; m < 4; ++m) {
            const auto at = std::find(chosen.begin(), chosen.end(), m);
            const bool is_chosen = at != chosen.end();
            const bool bias = !(is_chosen && s.bias_step == BiasStep::frozen);
            step(map_at(r.rate, m), ua[m].dW, ua[m].db, lr, bias);
            const Matrix& dW_b = is_chosen ? sb[static_cast<std::size_t>(at - chosen.begin())] : ub[m].dW;
            step(map_at(r.spiking, m), dW_b, ub[m].db, lr, bias);
        }
        record_losses(p, r, held_out, h_fixed, inf);
        r.curve.push_back(std::move(p));
        if (progress) progress(r.curve.back());
    }
    return r;
}

}  // namespace spikeem::vem
