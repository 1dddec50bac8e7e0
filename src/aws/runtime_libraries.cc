#include "aws/runtime_libraries.h"

#include <dlfcn.h>

#include <mutex>

// The build names the exact shared objects it compiled against.
#ifndef OHFP_CURL_SONAME
#define OHFP_CURL_SONAME "libcurl.so.4"
#endif
#ifndef OHFP_CRYPTO_SONAME
#define OHFP_CRYPTO_SONAME "libcrypto.so.3"
#endif

namespace ohfp::aws {
namespace {

// Resolves `name` into `*slot`; false (with the reason in `*error`) if absent.
template <typename Fn>
bool Resolve(void* handle, const char* name, Fn* slot, std::string* error) {
  void* symbol = ::dlsym(handle, name);
  if (symbol == nullptr) {
    if (error->empty()) *error = std::string("missing symbol ") + name;
    return false;
  }
  *slot = reinterpret_cast<Fn>(symbol);
  return true;
}

// Opens `soname` for the life of the process (never closed).
void* Open(const char* soname, std::string* error) {
  void* handle = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    *error = std::string("cannot load ") + soname + ": " + (why != nullptr ? why : "unknown");
  }
  return handle;
}

struct Loaded {
  std::once_flag once;
  bool ok = false;
  std::string error;
};

}  // namespace

const CurlLibrary* LoadCurl(std::string* error) {
  static Loaded state;
  static CurlLibrary lib;
  std::call_once(state.once, [] {
    void* h = Open(OHFP_CURL_SONAME, &state.error);
    if (h == nullptr) return;
    std::string* e = &state.error;
    bool ok = Resolve(h, "curl_global_init", &lib.global_init, e) &
              Resolve(h, "curl_easy_init", &lib.easy_init, e) &
              Resolve(h, "curl_easy_cleanup", &lib.easy_cleanup, e) &
              Resolve(h, "curl_easy_reset", &lib.easy_reset, e) &
              Resolve(h, "curl_easy_setopt", &lib.easy_setopt, e) &
              Resolve(h, "curl_easy_perform", &lib.easy_perform, e) &
              Resolve(h, "curl_easy_getinfo", &lib.easy_getinfo, e) &
              Resolve(h, "curl_easy_strerror", &lib.easy_strerror, e) &
              Resolve(h, "curl_slist_append", &lib.slist_append, e) &
              Resolve(h, "curl_slist_free_all", &lib.slist_free_all, e);
    if (!ok) return;
    // Once, before any handle exists; nothing to release at exit, as the
    // process ends right after.
    CURLcode init = lib.global_init(CURL_GLOBAL_DEFAULT);
    if (init != CURLE_OK) {
      state.error = std::string("curl_global_init failed: ") + lib.easy_strerror(init);
      return;
    }
    state.ok = true;
  });
  if (!state.ok) {
    if (error != nullptr) *error = state.error;
    return nullptr;
  }
  return &lib;
}

const CryptoLibrary* LoadCrypto(std::string* error) {
  static Loaded state;
  static CryptoLibrary lib;
  std::call_once(state.once, [] {
    void* h = Open(OHFP_CRYPTO_SONAME, &state.error);
    if (h == nullptr) return;
    std::string* e = &state.error;
    state.ok = Resolve(h, "EVP_Digest", &lib.digest, e) & Resolve(h, "EVP_sha256", &lib.sha256, e) &
               Resolve(h, "HMAC", &lib.hmac, e);
  });
  if (!state.ok) {
    if (error != nullptr) *error = state.error;
    return nullptr;
  }
  return &lib;
}

}  // namespace ohfp::aws
