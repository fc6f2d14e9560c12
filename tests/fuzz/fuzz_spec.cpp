// libFuzzer target: spec loading and validation, text and binary.
//
// The first byte chooses the format (even: text format, odd: binary wire
// format), the rest is the spec.  A spec may be refused (io::SpecError, the
// loader's one way of saying no); anything else that escapes (another
// exception, a crash, a sanitizer report, a leak) is a finding.  The spec's
// input files, if it names any, are looked up relative to the working
// directory; the fuzzer runs where there are none, so they are refused too.
#include <cstddef>
#include <cstdint>
#include <string>

#include "io/spec_loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string spec(reinterpret_cast<const char*>(data) + 1, size - 1);
    try {
        if (data[0] % 2 == 0) spikeem::io::load_spec_text(spec, "fuzz");
        else spikeem::io::load_spec_binary(spec, "fuzz");
    } catch (const spikeem::io::SpecError&) {
        // refused: fine
    }
    return 0;
}
