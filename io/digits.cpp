#include "io/digits.hpp"

#include <fmt/format.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <array>
#include <charconv>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "io/idx.hpp"

namespace fs = std::filesystem;

namespace spikeem::io {
namespace {

constexpr const char* kSplitName[] = {"train", "validation", "test"};
constexpr const char* kStandardNames[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                          "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

// Images with one label each, read from two IDX files.
struct LabelledImages {
    IdxImages images;
    std::vector<std::uint8_t> labels;
    std::string images_name, labels_name;  // file names, for messages
};

LabelledImages read_labelled(const fs::path& dir, const fs::path& images, const fs::path& labels) {
    LabelledImages d;
    d.images_name = images.filename().string();
    d.labels_name = labels.filename().string();
    try {
        d.images = read_idx_images(images);
        d.labels = read_idx_labels(labels);
    } catch (const IdxError& e) {
        throw DataError(fmt::format("{}: {}", dir.string(), e.what()));
    }
    if (d.images.count != d.labels.size())
        throw DataError(fmt::format("{}: {} holds {} images, {} holds {} labels: expected one label per image",
                                    dir.string(), d.images_name, d.images.count, d.labels_name, d.labels.size()));
    if (d.images.rows == 0 || d.images.cols == 0)
        throw DataError(fmt::format("{}: images of {} x {} pixels, expected at least one pixel",
                                    (dir / images.filename()).string(), d.images.rows, d.images.cols));
    return d;
}

// The images at `rows` of `d`, as a split.
vem::DigitSplit take(const LabelledImages& d, const std::vector<std::uint32_t>& rows) {
    const Eigen::Index pixels = Eigen::Index{d.images.rows} * d.images.cols;
    vem::DigitSplit s;
    s.x.resize(pixels, static_cast<Eigen::Index>(rows.size()));
    for (std::size_t j = 0; j < rows.size(); ++j) {
        const std::uint8_t* src = d.images.pixels.data() + static_cast<std::size_t>(rows[j]) * pixels;
        s.x.col(static_cast<Eigen::Index>(j)) =
            Eigen::Map<const Eigen::Matrix<std::uint8_t, Eigen::Dynamic, 1>>(src, pixels).cast<float>() / 255.0f;
        s.labels.push_back(d.labels[rows[j]]);
    }
    s.index = rows;
    return s;
}

// A whole decimal number (digits only), or nothing.
std::optional<std::uint64_t> whole_number(std::string_view s) {
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
}

// The three fields of a split.csv row, or fewer/more.
std::vector<std::string_view> fields(std::string_view line) {
    std::vector<std::string_view> f;
    for (std::size_t start = 0;;) {
        const std::size_t comma = line.find(',', start);
        f.push_back(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
        if (comma == std::string_view::npos) return f;
        start = comma + 1;
    }
}

// The rows of each split (train, validation, test) that split.csv lists, checked against the labels.
std::array<std::vector<std::uint32_t>, 3> read_split_csv(const fs::path& csv, const LabelledImages& d) {
    std::ifstream in(csv);
    if (!in) throw DataError(fmt::format("{}: cannot open", csv.string()));
    const std::string name = csv.string();
    const std::size_t n = d.labels.size();
    std::array<std::vector<std::uint32_t>, 3> rows;
    std::vector<std::size_t> listed_on(n, 0);  // line that listed each digit, 0: none
    std::string line;
    std::size_t line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();  // files written on Windows
        if (line_no == 1) {
            if (line != "index,label,split")
                throw DataError(fmt::format("{} line 1: header \"{}\", expected \"index,label,split\"", name, line));
            continue;
        }
        const auto f = fields(line);
        if (f.size() != 3)
            throw DataError(fmt::format("{} line {}: \"{}\" has {} fields, expected 3 (index,label,split)", name,
                                        line_no, line, f.size()));
        const auto index = whole_number(f[0]);
        if (!index || *index >= n)
            throw DataError(fmt::format("{} line {}: index \"{}\", expected a whole number from 0 to {} ({} holds {} "
                                        "digits)", name, line_no, f[0], n == 0 ? 0 : n - 1, d.labels_name, n));
        if (listed_on[*index] != 0)
            throw DataError(fmt::format("{} line {}: index {} listed again (first on line {}), expected each digit "
                                        "at most once", name, line_no, *index, listed_on[*index]));
        listed_on[*index] = line_no;
        const auto label = whole_number(f[1]);
        if (!label || *label != d.labels[*index])
            throw DataError(fmt::format("{} line {}: label \"{}\" for index {}, expected {} (its label in {})", name,
                                        line_no, f[1], *index, d.labels[*index], d.labels_name));
        int split = 0;
        while (split < 3 && f[2] != kSplitName[split]) ++split;
        if (split == 3)
            throw DataError(fmt::format("{} line {}: split \"{}\", expected train, validation or test", name, line_no,
                                        f[2]));
        rows[split].push_back(static_cast<std::uint32_t>(*index));
    }
    if (line_no == 0) throw DataError(fmt::format("{}: empty, expected the header \"index,label,split\"", name));
    return rows;
}

// "split_method (seed S)" from `spikeem data mnist`'s dataset.json, "" without the file or the field.
std::string split_method(const fs::path& json) {
    if (!fs::exists(json)) return "";
    std::ifstream in(json);
    std::stringstream ss;
    ss << in.rdbuf();
    google::protobuf::Struct doc;
    const auto status = google::protobuf::util::JsonStringToMessage(ss.str(), &doc);
    if (!status.ok())
        throw DataError(fmt::format("{}: not valid JSON ({}), expected the dataset.json of `spikeem data mnist`",
                                    json.string(), status.ToString()));
    const auto& f = doc.fields();
    const auto method = f.find("split_method");
    if (method == f.end() || !method->second.has_string_value()) return "";
    const auto seed = f.find("split_seed");
    if (seed == f.end() || !seed->second.has_number_value()) return method->second.string_value();
    return fmt::format("{} (seed {})", method->second.string_value(), seed->second.number_value());
}

vem::DigitSet load_split_csv(const fs::path& dir) {
    for (const char* name : {"images-idx3-ubyte", "labels-idx1-ubyte"})
        if (!fs::exists(dir / name))
            throw DataError(fmt::format("{}: missing, expected images-idx3-ubyte and labels-idx1-ubyte beside "
                                        "split.csv (as `spikeem data mnist` writes them)", (dir / name).string()));
    const LabelledImages d = read_labelled(dir, dir / "images-idx3-ubyte", dir / "labels-idx1-ubyte");
    const auto rows = read_split_csv(dir / "split.csv", d);
    vem::DigitSet s;
    s.source = fmt::format("split.csv of {}", dir.string());
    s.rows = d.images.rows;
    s.cols = d.images.cols;
    s.train = take(d, rows[0]);
    s.validation = take(d, rows[1]);
    s.test = take(d, rows[2]);
    const std::size_t unused = d.labels.size() - rows[0].size() - rows[1].size() - rows[2].size();
    const std::string method = split_method(dir / "dataset.json");
    s.split_rule = fmt::format("as listed in split.csv: {} train, {} validation, {} test digits of {} ({} unused){}",
                               rows[0].size(), rows[1].size(), rows[2].size(), d.images_name, unused,
                               method.empty() ? "" : "; made by `spikeem data mnist`: " + method);
    return s;
}

// The four standard files, plain or .gz (plain first); none if any is missing.
std::optional<std::array<fs::path, 4>> standard_files(const fs::path& dir, std::vector<std::string>& missing) {
    std::array<fs::path, 4> found;
    for (int i = 0; i < 4; ++i) {
        const fs::path plain = dir / kStandardNames[i];
        const fs::path gz = dir / (std::string(kStandardNames[i]) + ".gz");
        if (fs::exists(plain)) found[i] = plain;
        else if (fs::exists(gz)) found[i] = gz;
        else missing.push_back(std::string(kStandardNames[i]) + "[.gz]");
    }
    if (!missing.empty()) return std::nullopt;
    return found;
}

vem::DigitSet load_standard(const fs::path& dir, const std::array<fs::path, 4>& files) {
    const LabelledImages train = read_labelled(dir, files[0], files[1]);
    const LabelledImages test = read_labelled(dir, files[2], files[3]);
    if (train.images.rows != test.images.rows || train.images.cols != test.images.cols)
        throw DataError(fmt::format("{}: {} holds images of {} x {} pixels, {} of {} x {}: expected the same size",
                                    dir.string(), train.images_name, train.images.rows, train.images.cols,
                                    test.images_name, test.images.rows, test.images.cols));
    const std::uint32_t n = train.images.count;
    const std::uint32_t n_validation = n > 10000 ? 10000 : n / 10;
    if (n_validation == 0)
        throw DataError(fmt::format("{}: {} images, expected at least 10 (the last tenth becomes the validation "
                                    "split)", files[0].string(), n));
    std::array<std::vector<std::uint32_t>, 3> rows;
    for (std::uint32_t i = 0; i < n; ++i) rows[i < n - n_validation ? 0 : 1].push_back(i);
    for (std::uint32_t i = 0; i < test.images.count; ++i) rows[2].push_back(i);
    vem::DigitSet s;
    s.source = fmt::format("standard MNIST files {}, {}, {}, {} in {}", files[0].filename().string(),
                           files[1].filename().string(), files[2].filename().string(), files[3].filename().string(),
                           dir.string());
    s.split_rule = fmt::format("test: the {} digits of {}; validation: the last {} of the {} digits of {}; "
                               "train: its first {}",
                               test.images.count, test.images_name, n_validation, n, train.images_name,
                               n - n_validation);
    s.rows = train.images.rows;
    s.cols = train.images.cols;
    s.train = take(train, rows[0]);
    s.validation = take(train, rows[1]);
    s.test = take(test, rows[2]);
    return s;
}

}  // namespace

vem::DigitSet load_digits(const fs::path& dir) {
    if (!fs::is_directory(dir))
        throw DataError(fmt::format("{}: not a folder, expected one holding a digit set", dir.string()));
    vem::DigitSet s;
    std::vector<std::string> missing;
    if (fs::exists(dir / "split.csv")) {
        s = load_split_csv(dir);
    } else if (const auto files = standard_files(dir, missing)) {
        s = load_standard(dir, *files);
    } else if (missing.size() < 4) {
        throw DataError(fmt::format("{}: standard MNIST files incomplete: missing {} (and no split.csv)", dir.string(),
                                    fmt::join(missing, ", ")));
    } else {
        throw DataError(fmt::format(
            "{}: no digit set found: expected split.csv with images-idx3-ubyte and labels-idx1-ubyte (as `spikeem data "
            "mnist` writes them), or the standard MNIST files train-images-idx3-ubyte, train-labels-idx1-ubyte, "
            "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each plain or .gz)",
            dir.string()));
    }
    const vem::DigitSplit* splits[] = {&s.train, &s.validation, &s.test};
    for (int k = 0; k < 3; ++k)
        if (splits[k]->size() == 0)
            throw DataError(fmt::format("{}: no {} digits, expected at least one in each of train, validation and test",
                                        s.source, kSplitName[k]));
    return s;
}

}  // namespace spikeem::io
