#include "aws/runtime_libraries.h"

#include <dlfcn.h>

#include <mutex>

// The build names the exact shared object it compiled against.
#ifndef OHFP_SSL_SONAME
#define OHFP_SSL_SONAME "libssl.so.3"
#endif

namespace ohfp::aws {
namespace {

// Resolves `name` into `*slot`; false (with the reason in `*error`) if absent.
// dlsym on libssl's handle also finds libcrypto's symbols, as libssl
// depends on it.
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

}  // namespace

const SslLibrary* LoadSsl(std::string* error) {
  static std::once_flag once;
  static bool ok = false;
  static std::string load_error;
  static SslLibrary lib;
  std::call_once(once, [] {
    // Never closed: the process ends soon after its calls.
    void* h = ::dlopen(OHFP_SSL_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) {
      const char* why = ::dlerror();
      load_error =
          std::string("cannot load ") + OHFP_SSL_SONAME + ": " + (why != nullptr ? why : "unknown");
      return;
    }
    std::string* e = &load_error;
    ok = Resolve(h, "TLS_client_method", &lib.tls_client_method, e) &
         Resolve(h, "SSL_CTX_new", &lib.ctx_new, e) & Resolve(h, "SSL_CTX_free", &lib.ctx_free, e) &
         Resolve(h, "SSL_CTX_ctrl", &lib.ctx_ctrl, e) &
         Resolve(h, "SSL_CTX_set_options", &lib.ctx_set_options, e) &
         Resolve(h, "SSL_CTX_set_verify", &lib.ctx_set_verify, e) &
         Resolve(h, "SSL_CTX_set_default_verify_paths", &lib.ctx_set_default_verify_paths, e) &
         Resolve(h, "SSL_CTX_load_verify_locations", &lib.ctx_load_verify_locations, e) &
         Resolve(h, "SSL_new", &lib.ssl_new, e) & Resolve(h, "SSL_free", &lib.ssl_free, e) &
         Resolve(h, "SSL_set_fd", &lib.set_fd, e) & Resolve(h, "SSL_ctrl", &lib.ssl_ctrl, e) &
         Resolve(h, "SSL_set1_host", &lib.set1_host, e) &
         Resolve(h, "SSL_connect", &lib.connect, e) & Resolve(h, "SSL_read", &lib.read, e) &
         Resolve(h, "SSL_write", &lib.write, e) & Resolve(h, "SSL_get_error", &lib.get_error, e) &
         Resolve(h, "SSL_pending", &lib.pending, e) & Resolve(h, "SSL_shutdown", &lib.shutdown, e) &
         Resolve(h, "SSL_get_verify_result", &lib.get_verify_result, e) &
         Resolve(h, "X509_verify_cert_error_string", &lib.verify_error_string, e) &
         Resolve(h, "ERR_get_error", &lib.err_get_error, e) &
         Resolve(h, "ERR_error_string_n", &lib.err_error_string_n, e) &
         Resolve(h, "ERR_clear_error", &lib.err_clear_error, e);
  });
  if (!ok) {
    if (error != nullptr) *error = load_error;
    return nullptr;
  }
  return &lib;
}

}  // namespace ohfp::aws
