#include "core/crash_point.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace ohfp {

const std::string_view kCrashPoints[] = {
    "request.recorded",   // acquisition in the store, no cloud call yet
    "request.launched",   // the cloud launched; the store does not know
    "request.committed",  // store updated; Host Factory has no answer yet
    "return.recorded",    // return in the store, no terminate call yet
    "return.released",    // terminate sent; the store does not know
    "return.committed",   // store updated; Host Factory has no answer yet
    "status.refreshed",   // cloud state read; not yet in the store
};
const int kCrashPointCount = sizeof(kCrashPoints) / sizeof(kCrashPoints[0]);

void CrashPoint(std::string_view point) {
  static const std::string armed = [] {
    const char* value = std::getenv("OHFP_CRASH_AT");
    return std::string(value != nullptr ? value : "");
  }();
  if (armed.empty() || armed != point) return;
  ::kill(::getpid(), SIGKILL);
  ::_exit(137);  // not reached
}

}  // namespace ohfp
