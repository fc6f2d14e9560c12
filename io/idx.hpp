#pragma once
// The IDX format of MNIST, Fashion-MNIST and EMNIST (LeCun et al., 1998): a
// 4-byte magic (two zero bytes, a type byte, the number of dimensions), one
// 32-bit big-endian size per dimension, then the elements, big-endian, the last
// dimension varying fastest.  Files may be gzip-compressed (read by content,
// whatever their name).
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace spikeem::io {

// A malformed or unreadable IDX file; the message names the file and what was expected.
struct IdxError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The element types the format defines (the third magic byte).
enum class IdxType : std::uint8_t { u8 = 0x08, i8 = 0x09, i16 = 0x0B, i32 = 0x0C, f32 = 0x0D, f64 = 0x0E };

std::size_t idx_element_bytes(IdxType t);
std::string_view idx_type_name(IdxType t);  // "unsigned byte", "float", ...

// One IDX array: its dimensions and its elements as raw bytes in file order
// (big-endian for multi-byte types), count() * idx_element_bytes(type) of them.
struct IdxArray {
    IdxType type = IdxType::u8;
    std::vector<std::uint32_t> dims;
    std::vector<std::uint8_t> data;
    std::uint64_t count() const;  // product of dims
};

// Parses the bytes of an IDX file (already decompressed); `name` is used in
// messages.  Checks the magic, the type, the number of dimensions (1 to 255)
// and that the length is exactly header + elements: a shorter file is
// "truncated", a longer one has "trailing bytes".
IdxArray parse_idx(std::string_view bytes, const std::string& name);

// The bytes of an IDX file holding `a` (dims and data must agree: IdxError otherwise).
std::string idx_bytes(const IdxArray& a);

// The whole content of a file, gunzipped if it starts with the gzip magic (1f 8b).
std::string read_maybe_gzip(const std::filesystem::path& path);
// gunzip of an in-memory gzip stream; `name` is used in messages.
std::string gunzip(std::string_view gz, const std::string& name);

IdxArray read_idx(const std::filesystem::path& path);

// Images: count x rows x cols unsigned bytes, row-major, pixels[i * rows * cols + r * cols + c];
// 0 is background, 255 full ink (callers scale by 1/255 to [0, 1]).
struct IdxImages {
    std::uint32_t count = 0, rows = 0, cols = 0;
    std::vector<std::uint8_t> pixels;
};

// An unsigned-byte IDX file of 3 dimensions (images) or 1 dimension (labels);
// anything else is an IdxError naming the file and what was expected.
IdxImages read_idx_images(const std::filesystem::path& path);
std::vector<std::uint8_t> read_idx_labels(const std::filesystem::path& path);

IdxArray images_array(const IdxImages& images);
IdxArray labels_array(const std::vector<std::uint8_t>& labels);

}  // namespace spikeem::io
