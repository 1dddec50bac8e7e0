// libcurl and libcrypto, loaded with dlopen the first time an AWS call needs
// them rather than by the dynamic linker at start-up.
//
// Why: Host Factory starts a new ohfp process for every call. Linked
// normally, libcurl and the libraries it pulls in (TLS, Kerberos, LDAP, SSH,
// IDN, …: about 25 objects, built with immediate binding) cost every process
// about 5 ms of CPU before main() runs, which is most of the start-up of a
// call that never talks to AWS (getAvailableTemplates, polls of finished
// requests). Calls that do reach AWS pay the same cost, once, when they
// send their first request.
#pragma once

#include <curl/curl.h>

#include <string>

namespace ohfp::aws {

/// The libcurl entry points the transport uses.
struct CurlLibrary {
  CURLcode (*global_init)(long flags);
  CURL* (*easy_init)();
  void (*easy_cleanup)(CURL* curl);
  void (*easy_reset)(CURL* curl);
  CURLcode (*easy_setopt)(CURL* curl, CURLoption option, ...);
  CURLcode (*easy_perform)(CURL* curl);
  CURLcode (*easy_getinfo)(CURL* curl, CURLINFO info, ...);
  const char* (*easy_strerror)(CURLcode code);
  curl_slist* (*slist_append)(curl_slist* list, const char* line);
  void (*slist_free_all)(curl_slist* list);
};

/// libcurl, loaded (and curl_global_init run) on the first call; later calls
/// return the same object. Null when it cannot be loaded, with the reason in
/// `*error`. Thread-safe.
const CurlLibrary* LoadCurl(std::string* error);

/// The libcrypto entry points SigV4 uses (OpenSSL's EVP_Digest, EVP_sha256
/// and HMAC, with opaque types so that no OpenSSL header is needed here).
struct CryptoLibrary {
  int (*digest)(const void* data, size_t count, unsigned char* md, unsigned int* size,
                const void* type, void* engine);
  const void* (*sha256)();
  unsigned char* (*hmac)(const void* evp_md, const void* key, int key_len,
                         const unsigned char* data, size_t data_len, unsigned char* md,
                         unsigned int* md_len);
};

/// libcrypto, loaded on the first call; null (with `*error`) when it cannot
/// be. Thread-safe.
const CryptoLibrary* LoadCrypto(std::string* error);

}  // namespace ohfp::aws
