// The ohfp command line: parses arguments, gathers the input (a -f file,
// --data, arguments or standard input), wires configuration, store and cloud
// together, runs one verb and prints exactly one JSON document on stdout.
#pragma once

#include <string>

namespace ohfp {

/// Runs ohfp with these arguments; returns the process exit code (0 ok,
/// 1 general, 2 configuration, 3 provider, 4 validation).
int RunApp(int argc, char** argv);

}  // namespace ohfp
