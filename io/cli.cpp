// The spikeem command line: `spikeem COMMAND [options]`.  The command table
// below is both the dispatch and the list of commands in the top-level help.
#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "io/cli_common.hpp"
#include "io/outputs.hpp"
#include "io/spec_loader.hpp"

using namespace spikeem::io;

namespace {

struct Command {
    std::string_view name;
    std::string_view synopsis;  // the arguments after the name, for the top-level help
    std::string_view summary;   // one line
    int (*handler)(const std::vector<std::string>& args);
};

// In the order of the top-level help.  A new command is its handler (in an
// io/cli_*.cpp file, declared in io/cli_common.hpp), a row here and a test in
// tests/test_cli.cpp.
constexpr Command kCommands[] = {
    {"run", "SPEC --out DIR [--seed N] [--duration-ms T] [--threads N] [--checkpoint-every-ms T]",
     "simulate a network spec (on N threads)",
     cmd_run},
    {"resume", "DIR [--duration-ms T]", "continue a run from its checkpoint DIR.checkpoint", cmd_resume},
    {"validate", "SPEC", "check a spec without running it", cmd_validate},
    {"stdp-curve", "--out DIR [rule options | --spec FILE]", "STDP curve of a rule by the pairing protocol",
     cmd_stdp_curve},
    {"eq1-curve", "--out DIR [options]", "the STDP curve Eq. 1 produces (paper Fig. 1)", cmd_eq1_curve},
    {"drift", "--out DIR [options]", "pair STDP drift against its rate-form identity", cmd_drift},
    {"gradcheck", "SPEC --out DIR [--seeds N]", "spiking dW against the objective's dJ/dW", cmd_gradcheck},
    {"bench", "[NAME...] [--json] [--repeat N] [--threads N]", "time benchmark networks (examples/benchmarks)",
     cmd_bench},
    {"data", "mnist --out DIR [--from PATH] [--seed S]", "10,000 MNIST digits as IDX files with a split", cmd_data},
    {"em-train", "--data DIR --out RUN [--epochs N] [--resume]", "variational EM: learn a generative model of digits",
     cmd_em_train},
    {"em-eval", "RUN --data DIR --out EVAL [--samples N]", "Parzen LL, samples, inference curve, in-painting",
     cmd_em_eval},
    {"em-spiking", "RUN --data DIR --out DIR [--step-ms LIST] [--m-step]",
     "the model's E-step (and M-step) as spiking neurons, against the rates", cmd_em_spiking},
    {"em-spiking-train", "--out DIR [--map g2] [--minibatches N]",
     "a short run with the spiking M-step beside the rate-based one", cmd_em_spiking_train},
    {"em-bench", "[--data DIR] [--threads N]", "time an em-train epoch against the machine's GEMM speed",
     cmd_em_bench},
};

// Summaries start in this column; a longer usage puts its summary on the next line.
constexpr std::size_t kSummaryColumn = 52;

std::string top_help() {
    std::string commands;
    for (const Command& c : kCommands) {
        const std::string usage = fmt::format("  {} {}", c.name, c.synopsis);
        if (usage.size() < kSummaryColumn)
            commands += fmt::format("{:<{}}{}\n", usage, kSummaryColumn, c.summary);
        else
            commands += fmt::format("{}\n{:<{}}{}\n", usage, "", kSummaryColumn, c.summary);
    }
    return fmt::format(
        "spikeem: an event-driven spiking network simulator\n"
        "\n"
        "usage: spikeem COMMAND [options]\n"
        "\n"
        "commands:\n"
        "{}"
        "\n"
        "  spikeem COMMAND --help   options of a command\n"
        "  spikeem --version        version\n"
        "\n"
        "SPEC is protobuf text format (.pbtxt), or binary protobuf if it ends in .pb or .binpb;\n"
        "the schema is io/spikeem.proto.  Exit status: 0 success, 1 run failure, 2 bad usage or spec.\n",
        commands);
}

// The command named args[0] with the rest of args; the top-level help for none or --help.
int dispatch(std::vector<std::string> args) {
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        std::cout << top_help();
        return args.empty() ? kExitUsage : kExitOk;
    }
    if (args[0] == "--version") {
        fmt::print("spikeem {}\n", version());
        return kExitOk;
    }
    const std::string name = args[0];
    args.erase(args.begin());
    for (const Command& c : kCommands)
        if (c.name == name) return c.handler(args);
    throw UsageError(fmt::format("unknown command \"{}\"\n\n{}", name, top_help()));
}

}  // namespace

// Errors reach here as exceptions: usage and spec errors exit with kExitUsage,
// anything else with kExitFailure.
int main(int argc, char** argv) {
    try {
        return dispatch(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const UsageError& e) {
        fmt::print(stderr, "spikeem: {}\n", e.what());
        return kExitUsage;
    } catch (const SpecError& e) {
        fmt::print(stderr, "{}\n", e.what());
        return kExitUsage;
    } catch (const std::exception& e) {
        fmt::print(stderr, "spikeem: error: {}\n", e.what());
        return kExitFailure;
    }
}
