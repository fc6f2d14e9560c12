// The triplet presets: every value pinned against the tables of Pfister &
// Gerstner (2006) as written out here (visual cortex Table 3, hippocampus
// Table 4), the names, the aliases, the spec loader's use of them, and the
// frequency dependence the visual-cortex fits were made to reproduce
// (Sjostrom et al. 2001), measured with the pairing protocol on the full
// simulator.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <variant>
#include <vector>

#include "experiments/protocols.hpp"
#include "io/spec_loader.hpp"
#include "plasticity/presets.hpp"

using namespace spikeem;

namespace {

// One row of the tables, written out independently of plasticity/presets.hpp.
struct Row {
    const char* name;
    int table;
    bool minimal;
    double a2p, a3p, a2m, a3m, tau_x, tau_y;
    bool nearest;
};

// tau_x of a minimal row: that of the full row of the same table and
// interaction (the minimal model has no tau_x; see presets.hpp).
const std::vector<Row> kTables = {
    {"visual_all_to_all_full", 3, false, 5e-10, 6.2e-3, 7e-3, 2.3e-4, 101, 125, false},
    {"visual_all_to_all_minimal", 3, true, 0, 6.5e-3, 7.1e-3, 0, 101, 114, false},
    {"visual_nearest_full", 3, false, 8.8e-11, 5.3e-2, 6.6e-3, 3.1e-3, 714, 40, true},
    {"visual_nearest_minimal", 3, true, 0, 5e-2, 8e-3, 0, 714, 40, true},
    {"hippocampal_all_to_all_full", 4, false, 6.1e-3, 6.7e-3, 1.6e-3, 1.4e-3, 946, 27, false},
    {"hippocampal_all_to_all_minimal", 4, true, 5.3e-3, 8e-3, 3.5e-3, 0, 946, 40, false},
    {"hippocampal_nearest_full", 4, false, 4.6e-3, 9.1e-3, 3e-3, 7.5e-9, 575, 47, true},
    {"hippocampal_nearest_minimal", 4, true, 4.6e-3, 9.1e-3, 3e-3, 0, 575, 48, true},
};

void check_row(const TripletStdpParams& p, const Row& r) {
    // Exact equality: the literals above and those of presets.hpp are the same
    // decimal numbers, so any changed digit fails.
    CHECK(p.a2_plus_mV == r.a2p);
    CHECK(p.a3_plus_mV == r.a3p);
    CHECK(p.a2_minus_mV == r.a2m);
    CHECK(p.a3_minus_mV == r.a3m);
    CHECK(p.tau_plus_ms == 16.8);
    CHECK(p.tau_minus_ms == 33.7);
    CHECK(p.tau_x_ms == r.tau_x);
    CHECK(p.tau_y_ms == r.tau_y);
    CHECK(p.nearest_spike == r.nearest);
}

}  // namespace

TEST_CASE("triplet presets: all eight rows of Pfister & Gerstner (2006) Tables 3 and 4, every value") {
    REQUIRE(triplet_presets().size() == kTables.size());
    for (std::size_t i = 0; i < kTables.size(); ++i) {
        const Row& r = kTables[i];
        const TripletPreset& p = triplet_presets()[i];
        CAPTURE(r.name);
        CHECK(p.name == r.name);
        CHECK(p.minimal == r.minimal);
        CHECK(p.source.find(r.table == 3 ? "Table 3 (visual cortex" : "Table 4 (hippocampus") != std::string::npos);
        check_row(p.params, r);
        REQUIRE(triplet_preset(r.name).has_value());
        check_row(*triplet_preset(r.name), r);
        // The minimal models drop A3- (and, in visual cortex, A2+).
        if (r.minimal) {
            CHECK(p.params.a3_minus_mV == 0.0);
            CHECK((p.params.a2_plus_mV == 0.0) == (r.table == 3));
        }
    }
}

TEST_CASE("triplet presets: the short names of earlier versions are the full models") {
    const std::vector<std::pair<const char*, std::size_t>> aliases = {
        {"visual_all_to_all", 0}, {"visual_nearest", 2}, {"hippocampal_all_to_all", 4}, {"hippocampal_nearest", 6}};
    REQUIRE(triplet_preset_aliases().size() == aliases.size());
    for (const auto& a : aliases) {
        // Named, not a structured binding: CAPTURE and lambdas cannot capture one before clang 16 (sanitizer builds).
        const char* const alias = a.first;
        const std::size_t row = a.second;
        CAPTURE(alias);
        REQUIRE(find_triplet_preset(alias) != nullptr);
        CHECK(find_triplet_preset(alias)->name == kTables[row].name);
        check_row(*triplet_preset(alias), kTables[row]);
    }
    CHECK_FALSE(triplet_preset("cortex").has_value());
    CHECK_FALSE(triplet_preset("all").has_value());  // `stdp-curve --preset all` is the command's, not a preset
    CHECK_FALSE(triplet_preset("").has_value());
}

TEST_CASE("triplet presets: a spec names any preset or alias, overrides a field, and learns the names when wrong") {
    auto load = [](const std::string& triplet) {
        const std::string text =
            "population { name: \"A\" size: 1 spike_times {} }\n"
            "population { name: \"B\" size: 1 lif_delta {} }\n"
            "projection { source: \"A\" target: \"B\" all_to_all {} weight_mV { constant: 1 } delay_ms { constant: 1 }"
            " plasticity { triplet_stdp { " +
            triplet + " } } }\n";
        return std::get<TripletStdpParams>(io::load_spec_text(text).spec.projections.at(0).plasticity->rule);
    };
    for (const Row& r : kTables) {
        CAPTURE(r.name);
        check_row(load(std::string("preset: \"") + r.name + "\""), r);
    }
    check_row(load("preset: \"hippocampal_nearest\""), kTables[6]);
    const TripletStdpParams over = load("preset: \"visual_nearest_minimal\" a3_minus_mV: 0.001");
    CHECK(over.a3_minus_mV == 0.001);
    CHECK(over.tau_x_ms == 714.0);
    try {
        load("preset: \"visual\"");
        FAIL("an unknown preset must be refused");
    } catch (const io::SpecError& e) {
        const std::string what = e.what();
        CAPTURE(what);
        for (const Row& r : kTables) CHECK(what.find(r.name) != std::string::npos);
        CHECK(what.find("visual_all_to_all = visual_all_to_all_full") != std::string::npos);
    }
}

TEST_CASE("triplet presets: the visual-cortex fits give the frequency dependence of Sjostrom et al. (2001)") {
    // 60 pairs at 0.1 to 50 Hz, dt = t_post - t_pre = -10 and +10 ms at the synapse.
    // Published shape: post-before-pre (dt = -10) depresses at low frequency and
    // potentiates at 40-50 Hz; pre-before-post (dt = +10) does nothing at 0.1 Hz
    // and potentiates more the higher the frequency.  Deterministic runs: the
    // thresholds are the shape's, with margins far above rounding.
    const std::vector<double> f = {0.1, 1, 5, 10, 20, 30, 40, 50};
    for (const TripletPreset& preset : triplet_presets()) {
        if (preset.name.rfind("visual", 0) != 0) continue;
        CAPTURE(preset.name);
        PairingProtocol p;
        p.rule.rule = preset.params;
        p.rule.w_min_mV = -1e9;  // no bound reached: the rule's own change
        const auto r = run_pairings(p, {-10.0, 10.0}, f);
        auto post_pre = [&](std::size_t i) { return r[2 * i].dw_rel; };
        auto pre_post = [&](std::size_t i) { return r[2 * i + 1].dw_rel; };
        // dt = -10 ms: LTD of more than 10 % at 0.1 and 1 Hz, LTP at 40 and 50 Hz, one change of sign.
        CHECK(post_pre(0) < -0.1);
        CHECK(post_pre(1) < -0.1);
        CHECK(post_pre(6) > 0.0);
        CHECK(post_pre(7) > 0.1);
        int sign_changes = 0;
        for (std::size_t i = 1; i < f.size(); ++i) sign_changes += (post_pre(i) > 0) != (post_pre(i - 1) > 0);
        CHECK(sign_changes == 1);
        // dt = +10 ms: below 0.1 % at 0.1 Hz, then growing at every step, above 10 % at 10 Hz and 50 % at 50 Hz.
        CHECK(std::abs(pre_post(0)) < 1e-3);
        for (std::size_t i = 1; i < f.size(); ++i) CHECK(pre_post(i) > pre_post(i - 1));
        CHECK(pre_post(3) > 0.1);
        CHECK(pre_post(7) > 0.5);
    }
}
