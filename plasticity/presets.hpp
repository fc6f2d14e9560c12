#pragma once
// Named parameter sets for the triplet rule, from Pfister & Gerstner (2006),
// J. Neurosci. 26:9673, Table 4 (visual cortex data of Sjostrom et al. 2001,
// hippocampal data of Wang et al. 2005).  tau_plus = 16.8 ms and
// tau_minus = 33.7 ms throughout (Bi & Poo's fit).  Amplitudes are relative
// weight changes; spikeem applies them in the projection's weight unit.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "plasticity/params.hpp"

namespace spikeem {

inline const std::vector<std::pair<std::string, TripletStdpParams>>& triplet_presets() {
    //                                      A2+      A3+     A2-     A3-     tau+  tau-  tau_x  tau_y  nearest
    static const std::vector<std::pair<std::string, TripletStdpParams>> presets = {
        {"visual_all_to_all", {5e-10, 6.2e-3, 7e-3, 2.3e-4, 16.8, 33.7, 101.0, 125.0, false}},
        {"visual_all_to_all_minimal", {0.0, 6.5e-3, 7.1e-3, 0.0, 16.8, 33.7, 101.0, 125.0, false}},
        {"visual_nearest", {8.8e-11, 5.3e-2, 6.6e-3, 3.1e-3, 16.8, 33.7, 714.0, 40.0, true}},
        {"hippocampal_all_to_all", {6.1e-3, 6.7e-3, 1.6e-3, 1.4e-3, 16.8, 33.7, 946.0, 27.0, false}},
        {"hippocampal_nearest", {4.6e-3, 9.1e-3, 3e-3, 7.5e-9, 16.8, 33.7, 575.0, 47.0, true}},
    };
    return presets;
}

inline std::optional<TripletStdpParams> triplet_preset(std::string_view name) {
    for (const auto& [n, p] : triplet_presets())
        if (n == name) return p;
    return std::nullopt;
}

}  // namespace spikeem
