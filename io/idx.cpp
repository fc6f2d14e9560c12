#include "io/idx.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace spikeem::io {

std::size_t idx_element_bytes(IdxType t) {
    switch (t) {
        case IdxType::u8:
        case IdxType::i8: return 1;
        case IdxType::i16: return 2;
        case IdxType::i32:
        case IdxType::f32: return 4;
        case IdxType::f64: return 8;
    }
    return 0;
}

std::string_view idx_type_name(IdxType t) {
    switch (t) {
        case IdxType::u8: return "unsigned byte";
        case IdxType::i8: return "signed byte";
        case IdxType::i16: return "short";
        case IdxType::i32: return "int";
        case IdxType::f32: return "float";
        case IdxType::f64: return "double";
    }
    return "?";
}

std::uint64_t IdxArray::count() const {
    std::uint64_t n = 1;
    for (std::uint32_t d : dims) n *= d;
    return n;
}

namespace {

bool known_type(std::uint8_t b) {
    return b == 0x08 || b == 0x09 || b == 0x0B || b == 0x0C || b == 0x0D || b == 0x0E;
}

std::uint32_t be32(const unsigned char* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}

// "16 + 10000*28*28" (with "*4" for 4-byte elements).
std::string size_formula(std::size_t header, const std::vector<std::uint32_t>& dims, std::size_t esize) {
    std::string s = fmt::format("{} + ", header);
    for (std::size_t i = 0; i < dims.size(); ++i) s += fmt::format("{}{}", i ? "*" : "", dims[i]);
    if (esize > 1) s += fmt::format("*{}", esize);
    return s;
}

}  // namespace

IdxArray parse_idx(std::string_view bytes, const std::string& name) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    if (bytes.size() < 4)
        throw IdxError(fmt::format("{}: {} bytes, expected at least 4 (the IDX magic: 00 00 TYPE NDIMS)", name,
                                   bytes.size()));
    if (p[0] != 0 || p[1] != 0)
        throw IdxError(fmt::format("{}: bad magic {:02x} {:02x} {:02x} {:02x}, expected 00 00 TYPE NDIMS (not an IDX file)",
                                   name, p[0], p[1], p[2], p[3]));
    if (!known_type(p[2]))
        throw IdxError(fmt::format("{}: type byte 0x{:02x}, expected one the IDX format defines: 0x08 unsigned byte, "
                                   "0x09 signed byte, 0x0b short, 0x0c int, 0x0d float, 0x0e double",
                                   name, p[2]));
    IdxArray a;
    a.type = static_cast<IdxType>(p[2]);
    const std::size_t ndims = p[3];
    if (ndims == 0) throw IdxError(fmt::format("{}: 0 dimensions, expected 1 to 255", name));
    const std::size_t header = 4 + 4 * ndims;
    if (bytes.size() < header)
        throw IdxError(fmt::format("{}: {} bytes, expected at least the header of {} bytes (4 + 4*{} dimensions) "
                                   "(truncated)",
                                   name, bytes.size(), header, ndims));
    for (std::size_t i = 0; i < ndims; ++i) a.dims.push_back(be32(p + 4 + 4 * i));
    const std::size_t esize = idx_element_bytes(a.type);
    // Element counts beyond 2^62 bytes cannot match any file: say so instead of overflowing.
    unsigned __int128 want = esize;
    for (std::uint32_t d : a.dims) want = std::min<unsigned __int128>(want * d, (unsigned __int128)1 << 62);
    want += header;
    if (want != bytes.size())
        throw IdxError(fmt::format("{}: {} bytes, expected {} = {} ({})", name, bytes.size(),
                                   size_formula(header, a.dims, esize), static_cast<std::uint64_t>(want),
                                   want > bytes.size() ? "truncated" : "trailing bytes"));
    a.data.assign(p + header, p + bytes.size());
    return a;
}

std::string idx_bytes(const IdxArray& a) {
    if (a.dims.empty() || a.dims.size() > 255)
        throw IdxError(fmt::format("IDX array: {} dimensions, expected 1 to 255", a.dims.size()));
    if (a.data.size() != a.count() * idx_element_bytes(a.type))
        throw IdxError(fmt::format("IDX array: {} data bytes, expected {} elements of {} bytes", a.data.size(),
                                   a.count(), idx_element_bytes(a.type)));
    std::string out;
    out.reserve(4 + 4 * a.dims.size() + a.data.size());
    out += '\0';
    out += '\0';
    out += static_cast<char>(a.type);
    out += static_cast<char>(a.dims.size());
    for (std::uint32_t d : a.dims)
        for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((d >> shift) & 0xFF);
    out.append(reinterpret_cast<const char*>(a.data.data()), a.data.size());
    return out;
}

std::string gunzip(std::string_view gz, const std::string& name) {
    z_stream z{};
    if (inflateInit2(&z, 15 + 16) != Z_OK) throw IdxError(fmt::format("{}: cannot start gzip decompression", name));
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
    z.avail_in = static_cast<uInt>(gz.size());
    std::string out;
    char buf[1 << 16];
    int rc = Z_OK;
    while (rc == Z_OK) {
        z.next_out = reinterpret_cast<Bytef*>(buf);
        z.avail_out = sizeof buf;
        rc = inflate(&z, Z_NO_FLUSH);
        out.append(buf, sizeof buf - z.avail_out);
        if (rc == Z_BUF_ERROR && z.avail_in == 0) break;  // input ended before the stream did
    }
    inflateEnd(&z);
    if (rc != Z_STREAM_END)
        throw IdxError(fmt::format("{}: corrupt or truncated gzip data ({})", name, z.msg ? z.msg : "unexpected end"));
    return out;
}

std::string read_maybe_gzip(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw IdxError(fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
    std::stringstream ss;
    ss << in.rdbuf();
    std::string bytes = ss.str();
    if (bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f && static_cast<unsigned char>(bytes[1]) == 0x8b)
        return gunzip(bytes, path.string());
    return bytes;
}

IdxArray read_idx(const fs::path& path) {
    const std::string name = path.filename().string();
    return parse_idx(read_maybe_gzip(path), name);
}

namespace {
IdxArray read_ubyte(const fs::path& path, std::size_t ndims, const char* what) {
    IdxArray a = read_idx(path);
    const std::string name = path.filename().string();
    if (a.type != IdxType::u8)
        throw IdxError(fmt::format("{}: element type {} (0x{:02x}), expected unsigned byte (0x08) for {}", name,
                                   idx_type_name(a.type), static_cast<unsigned>(a.type), what));
    if (a.dims.size() != ndims)
        throw IdxError(fmt::format("{}: {} dimensions, expected {} for {}", name, a.dims.size(), ndims, what));
    return a;
}
}  // namespace

IdxImages read_idx_images(const fs::path& path) {
    IdxArray a = read_ubyte(path, 3, "images (count, rows, columns)");
    return IdxImages{a.dims[0], a.dims[1], a.dims[2], std::move(a.data)};
}

std::vector<std::uint8_t> read_idx_labels(const fs::path& path) {
    return read_ubyte(path, 1, "labels (count)").data;
}

IdxArray images_array(const IdxImages& images) {
    return IdxArray{IdxType::u8, {images.count, images.rows, images.cols}, images.pixels};
}

IdxArray labels_array(const std::vector<std::uint8_t>& labels) {
    return IdxArray{IdxType::u8, {static_cast<std::uint32_t>(labels.size())}, labels};
}

}  // namespace spikeem::io
