#include "io/npy_read.hpp"

#include <fmt/format.h>

#include <cstring>
#include <map>
#include <memory>

namespace spikeem::io {
namespace {

// The Python literals an .npy header holds: strings, whole numbers, True and
// False, tuples and lists (both as lists), and one dict (the header itself).
struct Value {
    enum Kind { Str, Int, Bool, List } kind = Str;
    std::string str;
    std::uint64_t integer = 0;
    bool boolean = false;
    std::vector<Value> items;
};

class HeaderParser {
public:
    explicit HeaderParser(const std::string& text) : s_(text) {}

    std::map<std::string, Value> dict() {
        expect('{');
        std::map<std::string, Value> out;
        while (!peek('}')) {
            Value key = value();
            if (key.kind != Value::Str) fail("a dict key that is not a string");
            expect(':');
            if (!out.emplace(key.str, value()).second) fail("the key '" + key.str + "' twice");
            if (!peek('}')) expect(',');
        }
        expect('}');
        skip_space();
        if (pos_ != s_.size()) fail("text after the dict");
        return out;
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw NpyError(fmt::format("header: {} at character {} of \"{}\"", what, pos_, s_));
    }
    void skip_space() {
        while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t')) ++pos_;
    }
    bool peek(char c) {
        skip_space();
        return pos_ < s_.size() && s_[pos_] == c;
    }
    void expect(char c) {
        if (!peek(c)) fail(fmt::format("expected '{}'", c));
        ++pos_;
    }
    Value value() {
        skip_space();
        if (pos_ >= s_.size()) fail("unexpected end");
        const char c = s_[pos_];
        Value v;
        if (c == '\'' || c == '"') {
            const std::size_t end = s_.find(c, pos_ + 1);
            if (end == std::string::npos) fail("an unterminated string");
            v.str = s_.substr(pos_ + 1, end - pos_ - 1);
            pos_ = end + 1;
        } else if (c >= '0' && c <= '9') {
            v.kind = Value::Int;
            while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
                if (v.integer > (UINT64_MAX - 9) / 10) fail("a number too large");
                v.integer = v.integer * 10 + static_cast<std::uint64_t>(s_[pos_++] - '0');
            }
        } else if (s_.compare(pos_, 4, "True") == 0 || s_.compare(pos_, 5, "False") == 0) {
            v.kind = Value::Bool;
            v.boolean = s_[pos_] == 'T';
            pos_ += v.boolean ? 4 : 5;
        } else if (c == '(' || c == '[') {
            v.kind = Value::List;
            const char close = c == '(' ? ')' : ']';
            ++pos_;
            while (!peek(close)) {
                v.items.push_back(value());
                if (!peek(close)) expect(',');
            }
            ++pos_;
        } else {
            fail(fmt::format("unexpected '{}'", c));
        }
        return v;
    }
    const std::string& s_;
    std::size_t pos_ = 0;
};

// A simple type code such as "<f8": its kind and size.  Big-endian and other kinds are refused.
NpyField simple_type(const std::string& code) {
    NpyField f;
    f.type = code;
    if (code.size() < 3) throw NpyError(fmt::format("descr: type '{}' is not a numeric type such as '<f8'", code));
    const char order = code[0];
    f.kind = code[1];
    const std::string size = code.substr(2);
    f.bytes = size == "1" ? 1 : size == "2" ? 2 : size == "4" ? 4 : size == "8" ? 8 : 0;
    const bool known = (f.kind == 'f' && (f.bytes == 4 || f.bytes == 8)) || ((f.kind == 'i' || f.kind == 'u') && f.bytes);
    if (!known)
        throw NpyError(fmt::format("descr: type '{}' is not supported (expected f4, f8, or an integer type i1..i8, u1..u8)",
                                   code));
    if (order == '>' || (order == '!'))
        throw NpyError(fmt::format("descr: type '{}' is big-endian: only little-endian data is read "
                                   "(numpy: a.astype(a.dtype.newbyteorder('<')))", code));
    const bool little_ok = order == '<' || (order == '|' && f.bytes == 1);
    if (!little_ok) throw NpyError(fmt::format("descr: type '{}' has byte order '{}': expected '<'", code, order));
    return f;
}

// The fields of a structured descr: [('name', 'type'), ...].
void structured_fields(const Value& descr, NpyArray& a) {
    a.structured = true;
    for (const Value& entry : descr.items) {
        if (entry.kind != Value::List || entry.items.size() < 2 || entry.items[0].kind != Value::Str ||
            entry.items[1].kind != Value::Str)
            throw NpyError("descr: a structured field that is not ('name', 'type')");
        if (entry.items.size() > 2) throw NpyError(fmt::format("descr: field '{}' is a sub-array: not supported",
                                                               entry.items[0].str));
        const std::string& name = entry.items[0].str;
        const std::string& type = entry.items[1].str;
        if (name.empty() && type.size() >= 3 && type[0] == '|' && type[1] == 'V') {  // padding
            a.itemsize += std::stoul(type.substr(2));
            continue;
        }
        NpyField f = simple_type(type);
        f.name = name;
        f.offset = a.itemsize;
        a.itemsize += f.bytes;
        if (a.field(name)) throw NpyError(fmt::format("descr: field '{}' twice", name));
        a.fields.push_back(f);
    }
    if (a.fields.empty()) throw NpyError("descr: a structured type without fields");
}

// The header's three keys into a.
void read_header(const std::map<std::string, Value>& dict, NpyArray& a) {
    for (const auto& [key, _] : dict)
        if (key != "descr" && key != "fortran_order" && key != "shape")
            throw NpyError(fmt::format("header: unexpected key '{}' (expected descr, fortran_order, shape)", key));
    for (const char* key : {"descr", "fortran_order", "shape"})
        if (!dict.count(key)) throw NpyError(fmt::format("header: no '{}'", key));
    const Value& descr = dict.at("descr");
    if (descr.kind == Value::Str) {
        a.fields.push_back(simple_type(descr.str));
        a.itemsize = a.fields[0].bytes;
    } else if (descr.kind == Value::List) {
        structured_fields(descr, a);
    } else {
        throw NpyError("header: 'descr' is neither a type string nor a list of fields");
    }
    const Value& fo = dict.at("fortran_order");
    if (fo.kind != Value::Bool) throw NpyError("header: 'fortran_order' is not True or False");
    a.fortran_order = fo.boolean;
    const Value& shape = dict.at("shape");
    if (shape.kind != Value::List) throw NpyError("header: 'shape' is not a tuple");
    for (const Value& d : shape.items) {
        if (d.kind != Value::Int) throw NpyError("header: 'shape' holds something other than whole numbers");
        a.shape.push_back(d.integer);
    }
}

std::uint64_t little_endian(const unsigned char* p, std::size_t bytes) {
    std::uint64_t x = 0;
    for (std::size_t b = 0; b < bytes; ++b) x |= static_cast<std::uint64_t>(p[b]) << (8 * b);
    return x;
}

}  // namespace

std::size_t NpyArray::elements() const {
    std::size_t n = 1;
    for (std::size_t d : shape) n *= d;
    return n;
}

const NpyField* NpyArray::field(const std::string& name) const {
    for (const NpyField& f : fields)
        if (f.name == name) return &f;
    return nullptr;
}

std::int64_t NpyArray::integer(const NpyField& f, std::size_t index, bool* too_large) const {
    const auto* p = reinterpret_cast<const unsigned char*>(data.data()) + index * itemsize + f.offset;
    const std::uint64_t raw = little_endian(p, f.bytes);
    if (too_large) *too_large = false;
    if (f.kind == 'u') {
        if (raw > static_cast<std::uint64_t>(INT64_MAX)) {
            if (too_large) *too_large = true;
            return INT64_MAX;
        }
        return static_cast<std::int64_t>(raw);
    }
    const unsigned shift = static_cast<unsigned>(64 - 8 * f.bytes);  // sign-extend
    return static_cast<std::int64_t>(raw << shift) >> shift;
}

double NpyArray::real(const NpyField& f, std::size_t index) const {
    if (f.kind == 'i') return static_cast<double>(integer(f, index));
    const auto* p = reinterpret_cast<const unsigned char*>(data.data()) + index * itemsize + f.offset;
    const std::uint64_t raw = little_endian(p, f.bytes);
    if (f.kind == 'u') return static_cast<double>(raw);
    if (f.bytes == 4) {
        float x;
        const auto r32 = static_cast<std::uint32_t>(raw);
        std::memcpy(&x, &r32, 4);
        return x;
    }
    double x;
    std::memcpy(&x, &raw, 8);
    return x;
}

NpyArray parse_npy(const std::string& bytes) {
    if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
        throw NpyError("magic: the file does not start with \\x93NUMPY (not an .npy file)");
    const auto major = static_cast<unsigned char>(bytes[6]);
    const auto* u = reinterpret_cast<const unsigned char*>(bytes.data());
    std::size_t header_len = 0, start = 0;
    if (major == 1) {
        header_len = little_endian(u + 8, 2);
        start = 10;
    } else if (major == 2 || major == 3) {
        if (bytes.size() < 12) throw NpyError("header: the file ends inside the header length");
        header_len = little_endian(u + 8, 4);
        start = 12;
    } else {
        throw NpyError(fmt::format("version: {}.{} (expected 1.0, 2.0 or 3.0)", major, static_cast<int>(u[7])));
    }
    if (bytes.size() < start + header_len)
        throw NpyError(fmt::format("header: announced as {} bytes, the file ends after {}", header_len,
                                   bytes.size() - start));
    std::string header = bytes.substr(start, header_len);
    while (!header.empty() && (header.back() == '\n' || header.back() == ' ' || header.back() == '\0')) header.pop_back();
    NpyArray a;
    read_header(HeaderParser(header).dict(), a);
    const std::size_t need = a.elements() * a.itemsize;
    const std::size_t have = bytes.size() - start - header_len;
    if (have != need)
        throw NpyError(fmt::format("data: {} bytes for shape ({}) of {}-byte elements, expected {}", have,
                                   fmt::join(a.shape, ", "), a.itemsize, need));
    a.data = bytes.substr(start + header_len);
    return a;
}

}  // namespace spikeem::io
