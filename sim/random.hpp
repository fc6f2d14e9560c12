#pragma once
// Counter-based random streams (Philox4x64-10 from Random123).
//
// A stream is identified by (seed, domain, a, b): e.g. domain = hash of
// "poisson", a = hash of the population name, b = neuron index.  Draw k of a
// stream is a pure function of (seed, domain, a, b, k), so results do not depend
// on how many other streams exist, in which order they are used, or on which
// thread uses them.  There is no global generator anywhere in spikeem.
#include <Random123/philox.h>

#include <cmath>
#include <cstdint>
#include <string_view>

namespace spikeem {

// FNV-1a, 64 bit: a stable (implementation-independent) hash for names.
constexpr std::uint64_t stable_hash(std::string_view s) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : s) {
        h ^= c;
        h *= 0x100000001b3ull;
    }
    return h;
}

class RandomStream {
public:
    RandomStream() = default;
    RandomStream(std::uint64_t seed, std::uint64_t domain, std::uint64_t a, std::uint64_t b) {
        key_ = {{seed, domain}};
        ctr_ = {{a, b, 0, 0}};
    }

    std::uint64_t next_u64() {
        if (pos_ == 4) refill();
        return out_.v[pos_++];
    }
    // Uniform in [0, 1), 53 random bits.
    double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
    // Uniform in (0, 1]: safe for log().
    double uniform_pos() { return (static_cast<double>(next_u64() >> 11) + 1.0) * 0x1.0p-53; }
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
    // Exponential with the given mean, by inversion.
    double exponential(double mean) { return -mean * std::log(uniform_pos()); }
    // Standard normal, Box-Muller (both values used; the spare is cached).
    double normal() {
        if (has_spare_) {
            has_spare_ = false;
            return spare_;
        }
        double u1 = uniform_pos(), u2 = uniform();
        double r = std::sqrt(-2.0 * std::log(u1));
        spare_ = r * std::sin(2.0 * M_PI * u2);
        has_spare_ = true;
        return r * std::cos(2.0 * M_PI * u2);
    }
    // Uniform integer in [0, n) without modulo bias (Lemire's method).
    std::uint64_t below(std::uint64_t n) {
        unsigned __int128 m = static_cast<unsigned __int128>(next_u64()) * n;
        auto lo = static_cast<std::uint64_t>(m);
        if (lo < n) {
            std::uint64_t t = (0 - n) % n;
            while (lo < t) {
                m = static_cast<unsigned __int128>(next_u64()) * n;
                lo = static_cast<std::uint64_t>(m);
            }
        }
        return static_cast<std::uint64_t>(m >> 64);
    }

private:
    void refill() {
        out_ = r123::Philox4x64()(ctr_, key_);
        ++ctr_.v[2];
        pos_ = 0;
    }
    r123::Philox4x64::key_type key_{};
    r123::Philox4x64::ctr_type ctr_{};
    r123::Philox4x64::ctr_type out_{};
    int pos_ = 4;
    bool has_spare_ = false;
    double spare_ = 0.0;
};

// Domains separate the uses of randomness so that, e.g., drawing initial
// voltages never shifts the Poisson spike trains.
namespace rng_domain {
inline constexpr std::uint64_t kPoisson = stable_hash("spikeem/poisson");
inline constexpr std::uint64_t kStochastic = stable_hash("spikeem/stochastic_neuron");
inline constexpr std::uint64_t kInitialState = stable_hash("spikeem/initial_state");
inline constexpr std::uint64_t kConnectivity = stable_hash("spikeem/connectivity");
inline constexpr std::uint64_t kWeight = stable_hash("spikeem/weight");
inline constexpr std::uint64_t kDelay = stable_hash("spikeem/delay");
inline constexpr std::uint64_t kPoissonInput = stable_hash("spikeem/poisson_input");
inline constexpr std::uint64_t kParameter = stable_hash("spikeem/per_neuron_parameter");
inline constexpr std::uint64_t kCurrentInput = stable_hash("spikeem/current_input");
}  // namespace rng_domain

}  // namespace spikeem
