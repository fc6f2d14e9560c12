#pragma once
// The one registry of population models.  Every alternative of
// PopulationModel (network/spec.hpp) has a ModelTraits specialisation here
// (its name in specs and outputs, whether it receives synapses, which
// parameters it can draw per neuron) and a case
// in make_population; a model missing from either fails to compile.
//
// Adding a model: its parameters in network/spec.hpp (an alternative of
// PopulationModel), its file in network/models/, its traits below and its
// case in registry.cpp, its schema message in io/spikeem.proto, its loader
// section in io/loader/populations.cpp, its tests.
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <variant>

#include "network/population.hpp"
#include "network/spec.hpp"

namespace spikeem {

template <class Params>
struct ModelTraits;  // no primary definition: every model specialises it
template <>
struct ModelTraits<LifDeltaParams> {
    static constexpr const char* name = "lif_delta";
    static constexpr bool neuron = true;
    static constexpr bool takes_current = true;  // injected currents move the rest level (NeuronLevels)
    // The parameters Population.per_neuron may draw per neuron (names as in the spec).
    static constexpr std::string_view per_neuron_array[] = {"v_rest_mV", "v_th_mV", "v_reset_mV", "t_ref_ms", "tau_m_ms"};
    static constexpr std::span<const std::string_view> per_neuron{per_neuron_array};
};
template <>
struct ModelTraits<LifExpParams> {
    static constexpr const char* name = "lif_exp";
    static constexpr bool neuron = true;
    static constexpr bool takes_current = true;  // injected currents move the rest level (NeuronLevels)
    // The parameters Population.per_neuron may draw per neuron (names as in the spec).
    static constexpr std::string_view per_neuron_array[] = {"v_rest_mV", "v_th_mV", "v_reset_mV", "t_ref_ms",
                                                            "tau_m_ms",  "tau_e_ms", "tau_i_ms"};
    static constexpr std::span<const std::string_view> per_neuron{per_neuron_array};
};
template <>
struct ModelTraits<LifCondExpParams> {
    static constexpr const char* name = "lif_cond_exp";
    static constexpr bool neuron = true;
    static constexpr bool takes_current = true;  // injected currents move the rest level (NeuronLevels)
    // The parameters Population.per_neuron may draw per neuron (names as in the spec).
    static constexpr std::string_view per_neuron_array[] = {"v_rest_mV", "v_th_mV",   "v_reset_mV", "t_ref_ms",
                                                            "tau_m_ms",  "g_leak_nS", "tau_e_ms",   "tau_i_ms",
                                                            "e_e_mV",    "e_i_mV"};
    static constexpr std::span<const std::string_view> per_neuron{per_neuron_array};
};
template <>
struct ModelTraits<AdExParams> {
    static constexpr const char* name = "adex";
    static constexpr bool neuron = true;
    // Injected currents (R I with R = 1/g_leak) add to the neuron's i_e_pA; no NeuronLevels.
    static constexpr bool takes_current = true;
    // The parameters Population.per_neuron may draw per neuron (names as in the spec): every numeric one.
    static constexpr std::string_view per_neuron_array[] = {
        "c_pF",   "g_leak_nS",  "e_leak_mV", "v_t_mV",   "delta_t_mV", "a_nS",     "tau_w_ms",
        "b_pA",   "v_reset_mV", "v_peak_mV", "t_ref_ms", "i_e_pA",     "w_init_pA"};
    static constexpr std::span<const std::string_view> per_neuron{per_neuron_array};
};
template <>
struct ModelTraits<StochasticParams> {
    static constexpr const char* name = "stochastic";
    static constexpr bool neuron = true;
    // Injected currents (R I, mV) add to the neuron's drive_mV (its leak target); no NeuronLevels.
    static constexpr bool takes_current = true;
    // The parameters Population.per_neuron may draw per neuron (names as in the spec): every numeric
    // one (a spread of v_reset_mV gives each neuron a reset).
    static constexpr std::string_view per_neuron_array[] = {
        "tau_m_ms",   "v_rest_mV",   "drive_mV", "drive_slope_mV_per_ms", "tau_syn_ms", "noise_sigma_mV",
        "rho_max_hz", "beta_per_mV", "theta_mV", "v_reset_mV",            "t_ref_ms"};
    static constexpr std::span<const std::string_view> per_neuron{per_neuron_array};
};
template <>
struct ModelTraits<PoissonParams> {
    static constexpr const char* name = "poisson";
    static constexpr bool neuron = false;
    static constexpr bool takes_current = false;  // a spike source: no membrane to inject into
    static constexpr std::span<const std::string_view> per_neuron{};  // no per-neuron parameters
};
template <>
struct ModelTraits<SpikeTimesParams> {
    static constexpr const char* name = "spike_times";
    static constexpr bool neuron = false;
    static constexpr bool takes_current = false;  // a spike source: no membrane to inject into
    static constexpr std::span<const std::string_view> per_neuron{};  // no per-neuron parameters
};

namespace detail {
template <class Variant>
struct ModelTable;
template <class... Params>
struct ModelTable<std::variant<Params...>> {
    static constexpr std::array<const char*, sizeof...(Params)> names{ModelTraits<Params>::name...};
    static constexpr std::array<bool, sizeof...(Params)> neurons{ModelTraits<Params>::neuron...};
    static constexpr std::array<bool, sizeof...(Params)> currents{ModelTraits<Params>::takes_current...};
    static constexpr std::array<std::span<const std::string_view>, sizeof...(Params)> per_neuron{
        ModelTraits<Params>::per_neuron...};
};
}  // namespace detail

// Name of a model ("lif_delta", ...), as in specs, messages and run.json.
inline const char* model_name(const PopulationModel& m) {
    return detail::ModelTable<PopulationModel>::names[m.index()];
}
// Can populations of this model receive synaptic input and be sampled for a voltage?
inline bool model_is_neuron(const PopulationModel& m) {
    return detail::ModelTable<PopulationModel>::neurons[m.index()];
}

// Does the model take injected currents (CurrentInputSpec)?  Every neuron model does.
inline bool model_takes_current(const PopulationModel& m) {
    return detail::ModelTable<PopulationModel>::currents[m.index()];
}

// The parameters a population of this model may draw per neuron
// (PopulationSpec::per_neuron), by their names in the spec; empty if none.
inline std::span<const std::string_view> model_per_neuron_parameters(const PopulationModel& m) {
    return detail::ModelTable<PopulationModel>::per_neuron[m.index()];
}

// The population of a spec, with its neurons' global indices starting at global_offset.
std::unique_ptr<Population> make_population(const PopulationSpec& spec, std::uint32_t index,
                                            std::uint32_t global_offset, const TimeBase& time, std::uint64_t seed);

}  // namespace spikeem
