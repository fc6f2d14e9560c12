#pragma once
// A small, strict reader of NumPy .npy files (the counterpart of the writer in
// io/outputs.cpp): numeric arrays only, little-endian, no objects, no pickles.
//
// Accepted: format versions 1.0, 2.0 and 3.0; a header dict with exactly the
// keys 'descr', 'fortran_order' and 'shape'; a descr that is one simple type
// ('<f8', '<i4', '|u1', ...: kinds f (4 or 8 bytes), i and u (1, 2, 4 or 8
// bytes)) or a list of named fields of such types (structured; nameless '|Vn'
// padding entries are skipped, sub-array fields are refused); any shape; data
// of exactly prod(shape) * itemsize bytes after the header.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace spikeem::io {

// What is wrong with an .npy file's bytes (the message names the part: magic,
// header, descr, shape or data, and what was expected).
class NpyError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// One column of an element: a named field of a structured array, or the
// array's only (nameless) field for a simple dtype.
struct NpyField {
    std::string name;     // empty for a simple dtype
    std::string type;     // as in the descr, e.g. "<f8"
    char kind = 'f';      // 'f', 'i' or 'u'
    std::size_t bytes = 8;
    std::size_t offset = 0;  // within an element
};

struct NpyArray {
    std::vector<std::size_t> shape;
    bool fortran_order = false;
    bool structured = false;
    std::vector<NpyField> fields;  // structured: the named fields in order; else one nameless field
    std::size_t itemsize = 0;      // bytes per element (a structured element: all its fields and padding)
    std::string data;              // the raw elements, in file order

    std::size_t elements() const;  // prod(shape) (1 for shape ())
    // The field named `name`, or nullptr.
    const NpyField* field(const std::string& name) const;
    // The value of field f of element `index` (in file order), converted to double
    // (integers above 2^53 round).  Contract: index < elements().
    double real(const NpyField& f, std::size_t index) const;
    // The same as an integer; for an 'f' field, nothing tells whether the value was whole: use real().
    // Contract: f.kind is 'i' or 'u'.
    std::int64_t integer(const NpyField& f, std::size_t index, bool* too_large = nullptr) const;
};

// Parses the whole file's bytes; throws NpyError.
NpyArray parse_npy(const std::string& bytes);

}  // namespace spikeem::io
