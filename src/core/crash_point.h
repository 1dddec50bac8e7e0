// Named points on the paths that change state, where a crash test can have
// the process killed. Every point is a place where a real crash (kill -9,
// OOM killer, Host Factory's action timeout, a power cut) could stop ohfp;
// the crash tests prove that the next call repairs whatever it left.
#pragma once

#include <string_view>

namespace ohfp {

/// Kills the process with SIGKILL, at once and without cleanup, if the
/// environment variable OHFP_CRASH_AT names `point`; otherwise does nothing.
/// The variable is read once per process.
void CrashPoint(std::string_view point);

/// Every point CrashPoint is called with, in the order a request passes
/// them, so that a crash test can go through all of them.
extern const std::string_view kCrashPoints[];
extern const int kCrashPointCount;

}  // namespace ohfp
