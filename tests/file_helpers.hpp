#pragma once
// Files a test writes, and the message of the error a call throws.
#include <doctest/doctest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>

namespace spikeem::test {

inline void write_file(const std::filesystem::path& p, const std::string& bytes) {
    std::ofstream out(p, std::ios::binary);
    out << bytes;
}

inline void write_gzip(const std::filesystem::path& p, const std::string& bytes) {
    gzFile f = gzopen(p.string().c_str(), "wb");
    REQUIRE(f != nullptr);
    REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
    gzclose(f);
}

// A fresh, empty directory under the system temp directory, removed at scope exit.
struct TempDir {
    std::filesystem::path path;
    explicit TempDir(const std::string& prefix = "spikeem_test_") {
        std::random_device rd;
        for (int i = 0; i < 100; ++i) {
            path = std::filesystem::temp_directory_path() / (prefix + std::to_string(rd()));
            if (std::filesystem::create_directory(path)) return;
        }
        throw std::runtime_error("cannot create a temp directory");
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::filesystem::path write(const std::string& name, const std::string& data) const {
        std::filesystem::path p = path / name;
        std::ofstream(p, std::ios::binary) << data;
        return p;
    }
};

// The message of the Error that `f` throws ("" if none).
template <class Error, class F>
std::string error_of(F f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace spikeem::test
