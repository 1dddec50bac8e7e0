// OpenSSL's libssl, loaded with dlopen the first time an https connection
// needs it rather than by the dynamic linker at start-up.
//
// Why: Host Factory starts a new ohfp process for every call. Linked
// normally, libssl and libcrypto cost every process about 4 million
// instructions of relocation before main() runs, which is more than a call
// that never opens an https connection (getAvailableTemplates, polls of
// finished requests, anything against a plain-http endpoint) spends on its
// work. Calls that do use TLS pay the same cost, once, at their first
// connection.
#pragma once

#include <openssl/ssl.h>

#include <string>

namespace ohfp::aws {

/// The libssl (and libcrypto) entry points the TLS connection uses.
struct SslLibrary {
  const SSL_METHOD* (*tls_client_method)();
  SSL_CTX* (*ctx_new)(const SSL_METHOD* method);
  void (*ctx_free)(SSL_CTX* ctx);
  long (*ctx_ctrl)(SSL_CTX* ctx, int cmd, long larg, void* parg);
  uint64_t (*ctx_set_options)(SSL_CTX* ctx, uint64_t options);
  void (*ctx_set_verify)(SSL_CTX* ctx, int mode, SSL_verify_cb callback);
  int (*ctx_set_default_verify_paths)(SSL_CTX* ctx);
  int (*ctx_load_verify_locations)(SSL_CTX* ctx, const char* file, const char* dir);
  SSL* (*ssl_new)(SSL_CTX* ctx);
  void (*ssl_free)(SSL* ssl);
  int (*set_fd)(SSL* ssl, int fd);
  long (*ssl_ctrl)(SSL* ssl, int cmd, long larg, void* parg);
  int (*set1_host)(SSL* ssl, const char* host);
  int (*connect)(SSL* ssl);
  int (*read)(SSL* ssl, void* buffer, int size);
  int (*write)(SSL* ssl, const void* buffer, int size);
  int (*get_error)(const SSL* ssl, int result);
  int (*pending)(const SSL* ssl);
  int (*shutdown)(SSL* ssl);
  long (*get_verify_result)(const SSL* ssl);
  const char* (*verify_error_string)(long code);  // X509_verify_cert_error_string
  unsigned long (*err_get_error)();
  void (*err_error_string_n)(unsigned long code, char* buffer, size_t size);
  void (*err_clear_error)();
};

/// libssl, loaded on the first call; later calls return the same object.
/// Null when it cannot be loaded, with the reason in `*error`. Thread-safe.
const SslLibrary* LoadSsl(std::string* error);

}  // namespace ohfp::aws
