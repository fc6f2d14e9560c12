#pragma once
// The byte stream a checkpoint holds the engine's state in.
//
// Every object that changes while a network runs (neurons, traces,
// synapses, queued events, random streams, recorders) writes what it holds
// with a StateWriter and reads it back into a freshly built twin with a
// StateReader.  The twin is built from the same spec, so only what running
// changed is written: parameters, connectivity and sizes come from the spec.
// Each object opens a named section; the reader checks names and sizes as it
// goes, so a stream from another network is refused where it first differs
// instead of being read as garbage.
//
// The format is the machine's own (trivially copyable values as their bytes):
// a checkpoint is read by the spikeem build that wrote it (io/checkpoint.cpp
// checks the version and the byte order before anything here is read).
#include <cstdint>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace spikeem {

// A stream that does not fit the network it is read into.
class StateMismatch : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class StateWriter {
public:
    // A named section: the reader checks the name.
    void section(std::string_view name) {
        value(static_cast<std::uint32_t>(name.size()));
        bytes_.append(name);
    }
    template <class T>
    void value(const T& v) {
        static_assert(std::is_trivially_copyable_v<T>);
        bytes_.append(reinterpret_cast<const char*>(&v), sizeof(T));
    }
    template <class T, class A>
    void values(const std::vector<T, A>& v) {
        static_assert(std::is_trivially_copyable_v<T>);
        value(static_cast<std::uint64_t>(v.size()));
        bytes_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
    }
    void values(const std::vector<bool>& v) {
        value(static_cast<std::uint64_t>(v.size()));
        for (bool b : v) value(static_cast<std::uint8_t>(b));
    }
    template <class T>
    void values(const std::deque<T>& v) {
        value(static_cast<std::uint64_t>(v.size()));
        for (const T& x : v) value(x);
    }
    template <class T>
    void nested(const std::vector<T>& v) {
        value(static_cast<std::uint64_t>(v.size()));
        for (const auto& x : v) values(x);
    }
    const std::string& bytes() const { return bytes_; }
    std::string take() { return std::move(bytes_); }

private:
    std::string bytes_;
};

class StateReader {
public:
    explicit StateReader(std::string_view bytes) : rest_(bytes) {}

    void section(std::string_view name) {
        const auto n = value<std::uint32_t>();
        const std::string_view got = take(n);
        if (got != name)
            throw StateMismatch("expected the state of " + std::string(name) + ", found " +
                                (printable(got) ? "that of " + std::string(got) : std::string("other bytes")));
        where_ = got;  // a view of the stream, which outlives the reader (`name` may be a temporary)
    }
    template <class T>
    T value() {
        static_assert(std::is_trivially_copyable_v<T>);
        T v;
        std::memcpy(&v, take(sizeof(T)).data(), sizeof(T));
        return v;
    }
    template <class T>
    void value(T& v) {
        v = value<T>();
    }
    // A value the built twin already has: the stream must agree.
    template <class T>
    void expect(const T& v, std::string_view what) {
        if (std::memcmp(&v, take(sizeof(T)).data(), sizeof(T)) != 0)
            throw StateMismatch(std::string(where_) + ": " + std::string(what) + " differs from the network built");
    }
    // Any length (a vector whose size changes as the network runs).
    template <class T, class A>
    void values(std::vector<T, A>& v) {
        static_assert(std::is_trivially_copyable_v<T>);
        const std::size_t n = count(sizeof(T));
        v.resize(n);
        if (n > 0) std::memcpy(static_cast<void*>(v.data()), take(n * sizeof(T)).data(), n * sizeof(T));
    }
    void values(std::vector<bool>& v) {
        const std::size_t n = count(1);
        v.assign(n, false);
        for (std::size_t i = 0; i < n; ++i) v[i] = value<std::uint8_t>() != 0;
    }
    template <class T>
    void values(std::deque<T>& v) {
        const std::size_t n = count(sizeof(T));
        v.clear();
        for (std::size_t i = 0; i < n; ++i) v.push_back(value<T>());
    }
    template <class T>
    void nested(std::vector<T>& v) {
        const std::size_t n = count(sizeof(std::uint64_t));
        v.resize(n);
        for (auto& x : v) values(x);
    }
    // A vector whose size the spec fixes: the stream must hold the same count.
    template <class T, class A>
    void same_size(std::vector<T, A>& v, std::string_view what) {
        const std::size_t before = v.size();
        values(v);
        if (v.size() != before)
            throw StateMismatch(std::string(where_) + ": " + std::string(what) + " has " + std::to_string(v.size()) +
                                " entries, the network built " + std::to_string(before));
    }
    bool done() const { return rest_.empty(); }

private:
    std::string_view take(std::size_t n) {
        if (n > rest_.size())
            throw StateMismatch("the state ends early (in " + std::string(where_.empty() ? "its start" : where_) + ")");
        const std::string_view got = rest_.substr(0, n);
        rest_.remove_prefix(n);
        return got;
    }
    // An element count, checked against the bytes left before anything is allocated.
    std::size_t count(std::size_t min_bytes) {
        const auto n = value<std::uint64_t>();
        if (min_bytes > 0 && n > rest_.size() / min_bytes)
            throw StateMismatch("the state ends early (in " + std::string(where_) + ")");
        return static_cast<std::size_t>(n);
    }
    static bool printable(std::string_view s) {
        for (char c : s)
            if (c < 32 || c > 126) return false;
        return !s.empty();
    }
    std::string_view rest_;
    std::string_view where_;
};

}  // namespace spikeem
