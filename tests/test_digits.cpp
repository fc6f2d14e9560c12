// The digit-set reader (io/digits.hpp): split.csv sets as `spikeem data mnist`
// writes them, the standard MNIST names (plain and gzip), every refusal with
// its message, and Debian's Fashion-MNIST when it is installed.
#include <doctest/doctest.h>
#include <unistd.h>
#include <zlib.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "io/digits.hpp"
#include "file_helpers.hpp"
#include "io/idx.hpp"

namespace fs = std::filesystem;
using namespace spikeem;
using io::DataError;

using spikeem::test::write_file;
using spikeem::test::write_gzip;

namespace {

// The message of the DataError that `f` throws ("" if none).
template <class F>
std::string error_of(F f) {
    return spikeem::test::error_of<DataError>(f);
}

// A fresh folder per test case, removed by the destructor.
struct TempDir {
    fs::path path;
    explicit TempDir(const std::string& name)
        : path(fs::temp_directory_path() / ("spikeem_test_digits_" + std::to_string(::getpid()) + "_" + name)) {
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
};

// Image i's pixel k: a pattern that differs between images and pixels and covers 0 and 255.
std::uint8_t pixel(std::uint32_t i, std::uint32_t k) { return static_cast<std::uint8_t>((i * 37 + k * 13) % 256); }

std::string images_bytes(std::uint32_t n, std::uint32_t rows, std::uint32_t cols, std::uint32_t first = 0) {
    io::IdxImages im{n, rows, cols, {}};
    for (std::uint32_t i = 0; i < n; ++i)
        for (std::uint32_t k = 0; k < rows * cols; ++k) im.pixels.push_back(pixel(first + i, k));
    return io::idx_bytes(io::images_array(im));
}

std::uint8_t label_of(std::uint32_t i) { return static_cast<std::uint8_t>((i * 3 + 1) % 10); }

std::string labels_bytes(std::uint32_t n, std::uint32_t first = 0) {
    std::vector<std::uint8_t> l;
    for (std::uint32_t i = 0; i < n; ++i) l.push_back(label_of(first + i));
    return io::idx_bytes(io::labels_array(l));
}

// Column j of `s` holds image `i` (pattern offset `first`) of rows x cols, scaled by 1/255, with its label.
void check_column(const vem::DigitSplit& s, Eigen::Index j, std::uint32_t i, std::uint32_t pixels,
                  std::uint32_t first = 0) {
    CAPTURE(j);
    REQUIRE(s.x.rows() == pixels);
    CHECK(s.index[j] == i);
    CHECK(s.labels[j] == label_of(first + i));
    bool same = true;
    for (std::uint32_t k = 0; k < pixels; ++k) same = same && s.x(k, j) == static_cast<float>(pixel(first + i, k)) / 255.0f;
    CHECK(same);
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A split.csv set of 12 images of 4 x 3 pixels; `csv` is the whole split.csv.
void write_csv_set(const fs::path& dir, const std::string& csv) {
    write_file(dir / "images-idx3-ubyte", images_bytes(12, 4, 3));
    write_file(dir / "labels-idx1-ubyte", labels_bytes(12));
    write_file(dir / "split.csv", csv);
}

std::string row(std::uint32_t i, const char* split) {
    return std::to_string(i) + "," + std::to_string(label_of(i)) + "," + split + "\n";
}

}  // namespace

TEST_CASE("digits: a split.csv set gives each split its listed digits, in the file's order, pixels / 255") {
    TempDir t("csv");
    // Out of order, two digits (3 and 10) not listed.
    const std::string csv = "index,label,split\n" + row(5, "train") + row(0, "test") + row(1, "train") +
                            row(11, "validation") + row(2, "train") + row(9, "test") + row(4, "validation") +
                            row(6, "train") + row(7, "train") + row(8, "train");
    write_csv_set(t.path, csv);
    const vem::DigitSet s = io::load_digits(t.path);
    CHECK(s.rows == 4);
    CHECK(s.cols == 3);
    CHECK(s.source == "split.csv of " + t.path.string());
    CHECK(s.train.index == std::vector<std::uint32_t>{5, 1, 2, 6, 7, 8});
    CHECK(s.validation.index == std::vector<std::uint32_t>{11, 4});
    CHECK(s.test.index == std::vector<std::uint32_t>{0, 9});
    for (const auto* split : {&s.train, &s.validation, &s.test}) {
        REQUIRE(split->labels.size() == split->index.size());
        REQUIRE(split->size() == static_cast<Eigen::Index>(split->index.size()));
        for (Eigen::Index j = 0; j < split->size(); ++j) check_column(*split, j, split->index[j], 12);
    }
    CHECK(s.train.x(1, 0) == 198.0f / 255.0f);  // image 5, pixel 1: (5 * 37 + 13) % 256, by hand
    CHECK(s.split_rule == "as listed in split.csv: 6 train, 2 validation, 2 test digits of images-idx3-ubyte (2 unused)");

    // Windows line ends read the same; dataset.json's method and seed join the rule.
    std::string crlf;
    for (char c : csv) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    write_file(t.path / "split.csv", crlf);
    write_file(t.path / "dataset.json", R"({"dataset": "mnist", "split_seed": 7, "split_method": "stratified by class"})");
    const vem::DigitSet c = io::load_digits(t.path);
    CHECK(c.train.index == s.train.index);
    CHECK(c.test.x == s.test.x);
    CHECK(c.split_rule == "as listed in split.csv: 6 train, 2 validation, 2 test digits of images-idx3-ubyte "
                          "(2 unused); made by `spikeem data mnist`: stratified by class (seed 7)");
}

TEST_CASE("digits: every bad split.csv row is refused with the file, the line, the value and what was expected") {
    TempDir t("csv_errors");
    const std::string csv_path = (t.path / "split.csv").string();
    const std::string head = "index,label,split\n", ok = row(0, "train") + row(1, "validation") + row(2, "test");
    auto error_with = [&](const std::string& csv) {
        write_csv_set(t.path, csv);
        return error_of([&] { io::load_digits(t.path); });
    };
    CHECK(error_with("") == csv_path + ": empty, expected the header \"index,label,split\"");
    CHECK(error_with("index,label,set\n" + ok) ==
          csv_path + " line 1: header \"index,label,set\", expected \"index,label,split\"");
    CHECK(error_with(head + ok + "3,0\n") == csv_path + " line 5: \"3,0\" has 2 fields, expected 3 (index,label,split)");
    CHECK(error_with(head + ok + "\n") == csv_path + " line 5: \"\" has 1 fields, expected 3 (index,label,split)");
    CHECK(error_with(head + ok + "3,0,train,x\n") ==
          csv_path + " line 5: \"3,0,train,x\" has 4 fields, expected 3 (index,label,split)");
    const std::string range = ", expected a whole number from 0 to 11 (labels-idx1-ubyte holds 12 digits)";
    CHECK(error_with(head + ok + "12,7,train\n") == csv_path + " line 5: index \"12\"" + range);
    CHECK(error_with(head + "-1,0,train\n" + ok) == csv_path + " line 2: index \"-1\"" + range);
    CHECK(error_with(head + ok + "x,0,train\n") == csv_path + " line 5: index \"x\"" + range);
    CHECK(error_with(head + ok + " 3,0,train\n") == csv_path + " line 5: index \" 3\"" + range);
    CHECK(error_with(head + ok + "99999999999999999999,0,train\n") ==
          csv_path + " line 5: index \"99999999999999999999\"" + range);
    CHECK(error_with(head + ok + row(4, "test") + row(1, "train")) ==
          csv_path + " line 6: index 1 listed again (first on line 3), expected each digit at most once");
    // label_of(3) = 0.
    CHECK(error_with(head + ok + "3,1,train\n") ==
          csv_path + " line 5: label \"1\" for index 3, expected 0 (its label in labels-idx1-ubyte)");
    CHECK(error_with(head + ok + "3,,train\n") ==
          csv_path + " line 5: label \"\" for index 3, expected 0 (its label in labels-idx1-ubyte)");
    CHECK(error_with(head + ok + "3,0,valid\n") ==
          csv_path + " line 5: split \"valid\", expected train, validation or test");
    CHECK(error_with(head + ok + "3,0,Train\n") ==
          csv_path + " line 5: split \"Train\", expected train, validation or test");
    CHECK(error_with(head + row(0, "train") + row(1, "validation")) ==
          "split.csv of " + t.path.string() + ": no test digits, expected at least one in each of train, validation and test");
    REQUIRE(error_with(head + ok).empty());  // the base case of the errors above loads
}

TEST_CASE("digits: bad files beside split.csv are refused with their names") {
    TempDir t("file_errors");
    const std::string dir = t.path.string();
    const std::string csv = "index,label,split\n" + row(0, "train") + row(1, "validation") + row(2, "test");
    write_csv_set(t.path, csv);
    write_file(t.path / "labels-idx1-ubyte", labels_bytes(11));
    CHECK(error_of([&] { io::load_digits(t.path); }) ==
          dir + ": images-idx3-ubyte holds 12 images, labels-idx1-ubyte holds 11 labels: expected one label per image");

    write_csv_set(t.path, csv);
    const std::string im = images_bytes(12, 4, 3);
    write_file(t.path / "images-idx3-ubyte", im.substr(0, im.size() - 1));
    CHECK(error_of([&] { io::load_digits(t.path); }) ==
          dir + ": images-idx3-ubyte: 159 bytes, expected 16 + 12*4*3 = 160 (truncated)");

    write_csv_set(t.path, csv);
    fs::remove(t.path / "images-idx3-ubyte");
    CHECK(error_of([&] { io::load_digits(t.path); }) ==
          (t.path / "images-idx3-ubyte").string() + ": missing, expected images-idx3-ubyte and labels-idx1-ubyte "
                                                     "beside split.csv (as `spikeem data mnist` writes them)");

    write_csv_set(t.path, csv);
    write_file(t.path / "images-idx3-ubyte", images_bytes(12, 0, 3));
    CHECK(error_of([&] { io::load_digits(t.path); }) ==
          (t.path / "images-idx3-ubyte").string() + ": images of 0 x 3 pixels, expected at least one pixel");

    write_csv_set(t.path, csv);
    write_file(t.path / "dataset.json", "{\"split_method\": ");
    CHECK(contains(error_of([&] { io::load_digits(t.path); }),
                   (t.path / "dataset.json").string() + ": not valid JSON ("));
}

TEST_CASE("digits: standard MNIST names, plain or .gz: t10k is test, the training file's last tenth validation") {
    TempDir t("standard");
    // 25 training images of 5 x 2 (last tenth: 2), 5 test images; patterns offset by 100 in t10k.
    write_file(t.path / "train-images-idx3-ubyte", images_bytes(25, 5, 2));
    write_gzip(t.path / "train-labels-idx1-ubyte.gz", labels_bytes(25));
    write_gzip(t.path / "t10k-images-idx3-ubyte.gz", images_bytes(5, 5, 2, 100));
    write_file(t.path / "t10k-labels-idx1-ubyte", labels_bytes(5, 100));
    // Both forms present: the plain file is read (this .gz would not match the 25 labels).
    write_gzip(t.path / "train-images-idx3-ubyte.gz", images_bytes(3, 5, 2));
    const vem::DigitSet s = io::load_digits(t.path);
    CHECK(s.rows == 5);
    CHECK(s.cols == 2);
    REQUIRE(s.train.size() == 23);
    REQUIRE(s.validation.size() == 2);
    REQUIRE(s.test.size() == 5);
    for (Eigen::Index j = 0; j < 23; ++j) check_column(s.train, j, static_cast<std::uint32_t>(j), 10);
    for (Eigen::Index j = 0; j < 2; ++j) check_column(s.validation, j, static_cast<std::uint32_t>(23 + j), 10);
    for (Eigen::Index j = 0; j < 5; ++j) check_column(s.test, j, static_cast<std::uint32_t>(j), 10, 100);
    CHECK(s.source == "standard MNIST files train-images-idx3-ubyte, train-labels-idx1-ubyte.gz, "
                      "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte in " + t.path.string());
    CHECK(s.split_rule == "test: the 5 digits of t10k-images-idx3-ubyte.gz; validation: the last 2 of the 25 digits "
                          "of train-images-idx3-ubyte; train: its first 23");

    // More than 10,000 training digits: validation is the last 10,000.
    fs::remove(t.path / "train-images-idx3-ubyte.gz");
    write_file(t.path / "train-images-idx3-ubyte", images_bytes(10007, 1, 2));
    write_gzip(t.path / "train-labels-idx1-ubyte.gz", labels_bytes(10007));
    write_file(t.path / "t10k-images-idx3-ubyte.gz", images_bytes(5, 1, 2, 100));  // plain bytes under .gz: read by content
    const vem::DigitSet big = io::load_digits(t.path);
    REQUIRE(big.train.size() == 7);
    REQUIRE(big.validation.size() == 10000);
    CHECK(big.validation.index.front() == 7);
    CHECK(big.validation.index.back() == 10006);
    check_column(big.validation, 9999, 10006, 2);
    check_column(big.train, 6, 6, 2);
}

TEST_CASE("digits: a folder without a digit set, or with a bad standard one, is refused") {
    TempDir t("standard_errors");
    const std::string dir = t.path.string();
    CHECK(error_of([&] { io::load_digits(t.path / "nowhere"); }) ==
          (t.path / "nowhere").string() + ": not a folder, expected one holding a digit set");
    CHECK(error_of([&] { io::load_digits(t.path); }) ==
          dir + ": no digit set found: expected split.csv with images-idx3-ubyte and labels-idx1-ubyte (as `spikeem "
                "data mnist` writes them), or the standard MNIST files train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each plain or .gz)");
    write_file(t.path / "train-images-idx3-ubyte", images_bytes(20, 3, 3));
    write_file(t.path / "train-labels-idx1-ubyte", labels_bytes(20));
    write_file(t.path / "t10k-images-idx3-ubyte", images_bytes(4, 3, 3));
    CHECK(error_of([&] { io::load_digits(t.path); }) ==
          dir + ": standard MNIST files incomplete: missing t10k-labels-idx1-ubyte[.gz] (and no split.csv)");
    write_file(t.path / "t10k-labels-idx1-ubyte", labels_bytes(4));
    REQUIRE(error_of([&] { io::load_digits(t.path); }).empty());

    write_file(t.path / "t10k-images-idx3-ubyte", images_bytes(4, 3, 4));
    CHECK(error_of([&] { io::load_digits(t.path); }) ==
          dir + ": train-images-idx3-ubyte holds images of 3 x 3 pixels, t10k-images-idx3-ubyte of 3 x 4: expected "
                "the same size");
    write_file(t.path / "t10k-images-idx3-ubyte", images_bytes(4, 3, 3));
    write_file(t.path / "t10k-labels-idx1-ubyte", labels_bytes(5));
    CHECK(error_of([&] { io::load_digits(t.path); }) ==
          dir + ": t10k-images-idx3-ubyte holds 4 images, t10k-labels-idx1-ubyte holds 5 labels: expected one label "
                "per image");
    write_file(t.path / "t10k-labels-idx1-ubyte", labels_bytes(4));
    write_file(t.path / "train-images-idx3-ubyte", images_bytes(9, 3, 3));
    write_file(t.path / "train-labels-idx1-ubyte", labels_bytes(9));
    CHECK(error_of([&] { io::load_digits(t.path); }) ==
          (t.path / "train-images-idx3-ubyte").string() +
              ": 9 images, expected at least 10 (the last tenth becomes the validation split)");
}

TEST_CASE("digits: Debian's Fashion-MNIST (dataset-fashion-mnist) loads as 50,000 / 10,000 / 10,000, when installed") {
    const fs::path dir = "/usr/share/datasets/fashion-mnist";
    if (!fs::exists(dir / "t10k-images-idx3-ubyte.gz")) {
        MESSAGE("skipped: " << dir.string() << " not present (apt-get install dataset-fashion-mnist)");
        return;
    }
    const vem::DigitSet s = io::load_digits(dir);
    CHECK(s.rows == 28);
    CHECK(s.cols == 28);
    REQUIRE(s.train.size() == 50000);
    REQUIRE(s.validation.size() == 10000);
    REQUIRE(s.test.size() == 10000);
    CHECK(s.train.x.rows() == 784);
    CHECK(s.validation.index.front() == 50000);
    CHECK(s.validation.index.back() == 59999);
    CHECK(s.test.index.back() == 9999);
    for (const auto* split : {&s.train, &s.validation, &s.test}) {
        CHECK(split->x.minCoeff() == 0.0f);
        CHECK(split->x.maxCoeff() == 1.0f);
    }
    // The test set is balanced: 1,000 of each of the 10 classes (Xiao, Rasul & Vollgraf, 2017).
    std::array<int, 10> per_class{};
    for (int l : s.test.labels) ++per_class.at(static_cast<std::size_t>(l));
    for (int c : per_class) CHECK(c == 1000);
    // The validation split's first column is row 50,000 of the training files, read independently.
    const io::IdxImages train = io::read_idx_images(dir / "train-images-idx3-ubyte.gz");
    const auto labels = io::read_idx_labels(dir / "train-labels-idx1-ubyte.gz");
    CHECK(s.validation.labels.front() == labels[50000]);
    bool same = true;
    for (int k = 0; k < 784; ++k)
        same = same && s.validation.x(k, 0) == static_cast<float>(train.pixels[50000 * 784 + k]) / 255.0f;
    CHECK(same);
}
