#include "io/cli_em.hpp"

#include <fmt/format.h>

#include <cmath>

#include "io/cli_common.hpp"
#include "io/digits.hpp"
#include "sim/random.hpp"

namespace spikeem::io {

vem::DigitSet load_digit_set(const std::string& dir) {
    try {
        vem::DigitSet set = load_digits(dir);
        if (set.train.x.cols() == 0 || set.validation.x.cols() < 2 || set.test.x.cols() < 2)
            throw UsageError(fmt::format("--data {}: {} training, {} validation and {} test digits; expected at least "
                                         "1, 2 and 2", dir, set.train.x.cols(), set.validation.x.cols(),
                                         set.test.x.cols()));
        return set;
    } catch (const DataError& e) {
        throw UsageError(fmt::format("--data {}: {}", dir, e.what()));
    }
}

vem::Model read_trained_model(const std::filesystem::path& run) {
    namespace fs = std::filesystem;
    const fs::path file = fs::is_directory(run) ? run / "model.pb" : run;
    if (!fs::exists(file))
        throw UsageError(fmt::format("RUN {}: no {}; expected an em-train folder holding model.pb (a finished run) "
                                     "or a model file", run.string(), file.string()));
    try {
        const proto::VemModel msg = read_model_file(file);
        vem::Model m = load_model(msg, file.string());
        if (!m.has_prior()) throw VemModelError(fmt::format("{}: no fitted prior p(h2) (an untrained model?)", file.string()));
        return m;
    } catch (const VemModelError& e) {
        throw UsageError(fmt::format("RUN {}: {}", run.string(), e.what()));
    }
}

std::uint64_t pixel_fingerprint(const vem::Matrix& x) {
    std::string bytes(static_cast<std::size_t>(x.size()), '\0');
    for (Eigen::Index k = 0; k < x.size(); ++k)  // column by column: Eigen's storage order
        bytes[static_cast<std::size_t>(k)] = static_cast<char>(std::lround(255.0f * x.data()[k]) & 0xff);
    return stable_hash(bytes);
}

double quick_parzen_ll(const vem::Matrix& queries, const vem::Matrix& centres) {
    const vem::Matrix d = vem::squared_distances(queries, centres);
    const vem::SigmaChoice s = vem::choose_sigma(d, queries.rows(), vem::default_sigma_grid());
    return vem::parzen_log_likelihood(d, s.sigma, queries.rows()).mean;
}

}  // namespace spikeem::io
