// The IDX reader and writer: round trips, the bytes of the format written out
// by hand, refusals of malformed files with their messages, and Debian's
// Fashion-MNIST files when they are installed.
#include <doctest/doctest.h>
#include <unistd.h>
#include <zlib.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "file_helpers.hpp"
#include "io/idx.hpp"

namespace fs = std::filesystem;
using namespace spikeem::io;

using spikeem::test::write_file;
using spikeem::test::write_gzip;

namespace {

// The message of the IdxError that `f` throws ("" if none).
template <class F>
std::string error_of(F f) {
    return spikeem::test::error_of<IdxError>(f);
}

fs::path temp_dir() {
    fs::path d = fs::temp_directory_path() / ("spikeem_test_idx_" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
}

// An IDX header written byte by byte (independent of idx_bytes).
std::string header(std::uint8_t type, const std::vector<std::uint32_t>& dims) {
    std::string h{'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
    for (std::uint32_t d : dims) {
        h += static_cast<char>(d >> 24);
        h += static_cast<char>((d >> 16) & 0xFF);
        h += static_cast<char>((d >> 8) & 0xFF);
        h += static_cast<char>(d & 0xFF);
    }
    return h;
}

}  // namespace

TEST_CASE("IDX: the writer produces the format's bytes, and images and labels round-trip (plain and gzip)") {
    CHECK(idx_bytes(labels_array({1, 2, 255})) == std::string("\0\0\x08\x01\0\0\0\x03\x01\x02\xff", 11));

    std::mt19937 rng(7);
    IdxImages im{3, 4, 300, {}};  // 300 > 255: the size spans two bytes
    for (std::size_t i = 0; i < 3 * 4 * 300; ++i) im.pixels.push_back(static_cast<std::uint8_t>(rng() & 0xFF));
    const std::string bytes = idx_bytes(images_array(im));
    CHECK(bytes.substr(0, 16) == header(0x08, {3, 4, 300}));

    const fs::path dir = temp_dir();
    write_file(dir / "im-idx3-ubyte", bytes);
    write_gzip(dir / "im-idx3-ubyte.gz", bytes);
    for (const char* name : {"im-idx3-ubyte", "im-idx3-ubyte.gz"}) {
        CAPTURE(name);
        IdxImages back = read_idx_images(dir / name);
        CHECK(back.count == 3);
        CHECK(back.rows == 4);
        CHECK(back.cols == 300);
        CHECK(back.pixels == im.pixels);
    }
    const std::vector<std::uint8_t> labels{0, 9, 3, 3};
    write_file(dir / "lab", idx_bytes(labels_array(labels)));
    CHECK(read_idx_labels(dir / "lab") == labels);
    fs::remove_all(dir);
}

TEST_CASE("IDX: the other element types the format defines are read with their sizes") {
    // Two big-endian floats 1.0f (3f 80 00 00) and -2.0f (c0 00 00 00).
    const std::string f32 = header(0x0D, {2}) + std::string("\x3f\x80\0\0\xc0\0\0\0", 8);
    IdxArray a = parse_idx(f32, "f");
    CHECK(a.type == IdxType::f32);
    CHECK(a.count() == 2);
    CHECK(a.data.size() == 8);
    CHECK(idx_bytes(a) == f32);
    CHECK(error_of([&] { parse_idx(header(0x0E, {2}) + std::string(8, '\0'), "d"); }) ==
          "d: 16 bytes, expected 8 + 2*8 = 24 (truncated)");

    const fs::path dir = temp_dir();
    write_file(dir / "floats", f32);
    CHECK(error_of([&] { read_idx_labels(dir / "floats"); }) ==
          "floats: element type float (0x0d), expected unsigned byte (0x08) for labels (count)");
    fs::remove_all(dir);
}

TEST_CASE("IDX: malformed files are refused with a message naming the file and what was expected") {
    const std::string ok = header(0x08, {2, 2, 2}) + std::string(8, '\x05');
    REQUIRE(error_of([&] { parse_idx(ok, "x"); }).empty());

    CHECK(error_of([&] { parse_idx(std::string("\0\0", 2), "short"); }) ==
          "short: 2 bytes, expected at least 4 (the IDX magic: 00 00 TYPE NDIMS)");
    std::string bad = ok;
    bad[0] = 'P';
    CHECK(error_of([&] { parse_idx(bad, "pic.png"); }) ==
          "pic.png: bad magic 50 00 08 03, expected 00 00 TYPE NDIMS (not an IDX file)");
    bad = ok;
    bad[2] = '\x07';
    CHECK(error_of([&] { parse_idx(bad, "t"); }).find("t: type byte 0x07, expected one the IDX format defines") == 0);
    bad = ok;
    bad[3] = '\0';
    CHECK(error_of([&] { parse_idx(bad, "z"); }) == "z: 0 dimensions, expected 1 to 255");
    CHECK(error_of([&] { parse_idx(header(0x08, {2, 2, 2}).substr(0, 10), "h"); }) ==
          "h: 10 bytes, expected at least the header of 16 bytes (4 + 4*3 dimensions) (truncated)");
    CHECK(error_of([&] { parse_idx(ok + "xy", "long"); }) == "long: 26 bytes, expected 16 + 2*2*2 = 24 (trailing bytes)");

    // The full-size case of a truncated download, through a file.
    const fs::path dir = temp_dir();
    write_file(dir / "t10k-images-idx3-ubyte", header(0x08, {10000, 28, 28}) + std::string(7840012 - 16, '\0'));
    CHECK(error_of([&] { read_idx_images(dir / "t10k-images-idx3-ubyte"); }) ==
          "t10k-images-idx3-ubyte: 7840012 bytes, expected 16 + 10000*28*28 = 7840016 (truncated)");
    // Sizes whose product exceeds any file: no overflow into a false match.
    CHECK(error_of([&] { parse_idx(header(0x08, {65536, 65536, 65536, 65536}), "huge"); }).find("(truncated)") !=
          std::string::npos);

    // Right format, wrong shape for the reader asked.
    write_file(dir / "labels", idx_bytes(labels_array({1, 2})));
    CHECK(error_of([&] { read_idx_images(dir / "labels"); }) ==
          "labels: 1 dimensions, expected 3 for images (count, rows, columns)");
    write_file(dir / "images", ok);
    CHECK(error_of([&] { read_idx_labels(dir / "images"); }) == "images: 3 dimensions, expected 1 for labels (count)");

    // A gzip stream cut short.
    write_gzip(dir / "cut.gz", ok + std::string(5000, '\x11'));
    std::string gz;
    {
        std::ifstream in(dir / "cut.gz", std::ios::binary);
        gz.assign(std::istreambuf_iterator<char>(in), {});
    }
    write_file(dir / "cut.gz", gz.substr(0, gz.size() / 2));
    CHECK(error_of([&] { read_idx(dir / "cut.gz"); }).find("corrupt or truncated gzip data") != std::string::npos);
    CHECK(error_of([&] { read_idx(dir / "missing"); }).find("missing: cannot open") != std::string::npos);
    fs::remove_all(dir);
}

TEST_CASE("IDX: Debian's Fashion-MNIST files (dataset-fashion-mnist), when installed") {
    const fs::path dir = "/usr/share/datasets/fashion-mnist";
    if (!fs::exists(dir / "t10k-images-idx3-ubyte.gz")) {
        MESSAGE("skipped: " << dir.string() << " not present (apt-get install dataset-fashion-mnist)");
        return;
    }
    // Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017): 60,000 + 10,000 images of 28 x 28, 10 balanced classes.
    for (auto set : {std::pair<const char*, std::uint32_t>{"t10k", 10000}, {"train", 60000}}) {
        // Named, not a structured binding: CAPTURE and lambdas cannot capture one before clang 16 (sanitizer builds).
        const char* const prefix = set.first;
        const std::uint32_t n = set.second;
        CAPTURE(prefix);
        const IdxImages im = read_idx_images(dir / (std::string(prefix) + "-images-idx3-ubyte.gz"));
        const auto labels = read_idx_labels(dir / (std::string(prefix) + "-labels-idx1-ubyte.gz"));
        CHECK(im.count == n);
        CHECK(im.rows == 28);
        CHECK(im.cols == 28);
        REQUIRE(labels.size() == n);
        std::array<std::uint32_t, 10> per_class{};
        std::size_t out_of_range = 0;
        for (auto l : labels) l < 10 ? ++per_class[l] : ++out_of_range;
        CHECK(out_of_range == 0);
        for (auto c : per_class) CHECK(c == n / 10);
    }
}
