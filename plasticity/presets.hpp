#pragma once
// Named parameter sets of the triplet rule: the eight fits of Pfister &
// Gerstner (2006), J. Neurosci. 26:9673.  Visual cortex: their Table 3, fitted
// to the pairing-frequency data of Sjostrom et al. (2001); hippocampus: their
// Table 4, fitted to the triplet and quadruplet data of Wang et al. (2005).
// Each table has an all-to-all and a nearest-spike interaction, each with a
// full model and a minimal one.  tau_plus = 16.8 ms and tau_minus = 33.7 ms
// throughout (the Bi & Poo fit).  Amplitudes are relative weight changes;
// spikeem applies them in the projection's weight unit.
//
// Provenance: the values were transcribed from secondary sources that agree
// with each other; the paper's tables themselves could not be read for this
// project.  The two visual-cortex full models also agree with the parameter
// sets of NEST's triplet-synapse pairing example.  docs/science.md
// ("Triplet presets") says the same.
//
// The minimal models have no A3- term, so tau_x plays no part in them; they
// carry the tau_x of the full model of the same table and interaction, which
// matters only when a spec overrides a3_minus_mV.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "plasticity/params.hpp"

namespace spikeem {

struct TripletPreset {
    std::string name;    // {visual,hippocampal}_{all_to_all,nearest}_{full,minimal}
    std::string source;  // the table it comes from
    bool minimal;        // a parameter absent from the minimal model is 0
    TripletStdpParams params;
};

inline const std::vector<TripletPreset>& triplet_presets() {
    static const char* const kVisual = "Pfister & Gerstner 2006, Table 3 (visual cortex, Sjostrom et al. 2001)";
    static const char* const kHippo = "Pfister & Gerstner 2006, Table 4 (hippocampus, Wang et al. 2005)";
    // clang-format off
    //                                                               A2+      A3+     A2-     A3-     tau+  tau-  tau_x  tau_y  nearest
    static const std::vector<TripletPreset> presets = {
        {"visual_all_to_all_full",         kVisual, false, {5e-10,   6.2e-3, 7e-3,   2.3e-4, 16.8, 33.7, 101.0, 125.0, false}},
        {"visual_all_to_all_minimal",      kVisual, true,  {0.0,     6.5e-3, 7.1e-3, 0.0,    16.8, 33.7, 101.0, 114.0, false}},
        {"visual_nearest_full",            kVisual, false, {8.8e-11, 5.3e-2, 6.6e-3, 3.1e-3, 16.8, 33.7, 714.0,  40.0, true}},
        {"visual_nearest_minimal",         kVisual, true,  {0.0,     5e-2,   8e-3,   0.0,    16.8, 33.7, 714.0,  40.0, true}},
        {"hippocampal_all_to_all_full",    kHippo,  false, {6.1e-3,  6.7e-3, 1.6e-3, 1.4e-3, 16.8, 33.7, 946.0,  27.0, false}},
        {"hippocampal_all_to_all_minimal", kHippo,  true,  {5.3e-3,  8e-3,   3.5e-3, 0.0,    16.8, 33.7, 946.0,  40.0, false}},
        {"hippocampal_nearest_full",       kHippo,  false, {4.6e-3,  9.1e-3, 3e-3,   7.5e-9, 16.8, 33.7, 575.0,  47.0, true}},
        {"hippocampal_nearest_minimal",    kHippo,  true,  {4.6e-3,  9.1e-3, 3e-3,   0.0,    16.8, 33.7, 575.0,  48.0, true}},
    };
    // clang-format on
    return presets;
}

// Short names kept from earlier versions: each is the full model of its row.
inline const std::vector<std::pair<std::string, std::string>>& triplet_preset_aliases() {
    static const std::vector<std::pair<std::string, std::string>> aliases = {
        {"visual_all_to_all", "visual_all_to_all_full"},
        {"visual_nearest", "visual_nearest_full"},
        {"hippocampal_all_to_all", "hippocampal_all_to_all_full"},
        {"hippocampal_nearest", "hippocampal_nearest_full"},
    };
    return aliases;
}

// The preset called `name` (or an alias of it), or nullptr.
inline const TripletPreset* find_triplet_preset(std::string_view name) {
    for (const auto& [alias, full] : triplet_preset_aliases())
        if (alias == name) name = full;
    for (const auto& p : triplet_presets())
        if (p.name == name) return &p;
    return nullptr;
}

inline std::optional<TripletStdpParams> triplet_preset(std::string_view name) {
    if (const TripletPreset* p = find_triplet_preset(name)) return p->params;
    return std::nullopt;
}

// "a, b, ... (aliases: x = y, ...)", for messages.
inline std::string triplet_preset_names() {
    std::string s;
    for (const auto& p : triplet_presets()) s += (s.empty() ? "" : ", ") + p.name;
    s += " (aliases:";
    for (const auto& [alias, full] : triplet_preset_aliases()) s += " " + alias + " = " + full + ",";
    s.back() = ')';
    return s;
}

}  // namespace spikeem
