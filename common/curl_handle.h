#pragma once

// Ownership of libcurl handles, shared by the HTTP check, the Alertmanager
// notifier and the webhook sender. Header-only: users link libcurl
// themselves, so vitals_common does not.

#include <curl/curl.h>

#include <memory>
#include <mutex>

namespace vitals {

// Calls curl_global_init once per process. curl_global_init is not
// thread-safe, so every user calls this before its first curl_easy_init.
inline void EnsureCurlInitialized() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;
using CurlSlistPtr = std::unique_ptr<curl_slist, CurlDeleter>;
using CurlUrlPtr = std::unique_ptr<CURLU, CurlDeleter>;

}  // namespace vitals
