#pragma once

#include <string>

#include "common/status.h"

// Client libraries loaded when the first check that needs one is configured,
// not by the dynamic linker at start-up: an agent without postgres, mysql or
// redis checks, or without https checks, never maps libpq, libmariadb,
// hiredis or libcurl and the TLS, Kerberos and LDAP libraries they pull in
// (about 8 MiB of resident memory together, see docs/performance.md).
//
// The agent is compiled against each library's headers and asks for the
// SONAME found at build time (VITALS_*_SONAME below), so it gets the ABI it
// was compiled against or a clear error, never a mismatch.

namespace vitals::agent {

// A shared library opened with dlopen(3) and kept for the rest of the
// process: the client libraries register atexit handlers and thread-local
// state (OpenSSL does), which makes unloading them unsafe.
//
// Thread-safe.
class SharedLibrary {
 public:
  // Opens `soname` (RTLD_NOW | RTLD_LOCAL). Unavailable, with the dynamic
  // loader's reason, if it cannot be loaded (not installed, wrong
  // architecture, a dependency missing).
  static Result<SharedLibrary> Open(const std::string& soname);

  // Points *fn at the library's function `symbol`. Unavailable if the library
  // does not export it (an older version than the headers).
  template <typename Fn>
  Status Bind(const char* symbol, Fn** fn) const {
    ASSIGN_OR_RETURN(void* address, Lookup(symbol));
    *fn = reinterpret_cast<Fn*>(address);
    return Status::Ok();
  }

  const std::string& soname() const { return soname_; }

 private:
  SharedLibrary(void* handle, std::string soname) : handle_(handle), soname_(std::move(soname)) {}
  Result<void*> Lookup(const char* symbol) const;

  void* handle_;  // From dlopen; never closed.
  std::string soname_;
};

// True if `soname` is mapped in this process, whether the dynamic linker
// loaded it at start-up or SharedLibrary::Open did.
bool IsLibraryLoaded(const std::string& soname);

// A table of a library's functions: VITALS_LIBRARY_API(LibpqApi, LIBPQ_FUNCTIONS)
// declares `struct LibpqApi` with one pointer per function that
//
//   #define LIBPQ_FUNCTIONS(F) F(PQfinish) F(PQstatus) ...
//
// lists, named and typed after the function's declaration in the library's
// header, and `Status Bind(const SharedLibrary& library)`, which points each
// at the library's function (Unavailable if one is missing).
#define VITALS_LIBRARY_API(Api, FUNCTIONS)                                 \
  struct Api {                                                             \
    FUNCTIONS(VITALS_DECLARE_FUNCTION)                                     \
    ::vitals::Status Bind(const ::vitals::agent::SharedLibrary& library) { \
      FUNCTIONS(VITALS_BIND_FUNCTION)                                      \
      return ::vitals::Status::Ok();                                       \
    }                                                                      \
  }
#define VITALS_DECLARE_FUNCTION(name) decltype(&::name) name = nullptr;
#define VITALS_BIND_FUNCTION(name) RETURN_IF_ERROR(library.Bind(#name, &name));

// Opens `soname`, binds the functions of `Api` (a VITALS_LIBRARY_API table)
// and runs `init`, if given, to initialise the library: once per process and
// Api, by the first call; every later call, from any thread, returns the same
// outcome, and the table lives as long as the process. Unavailable if the
// library cannot be loaded or lacks a function; what `init` returns if it
// fails.
template <typename Api>
Result<const Api*> LoadLibraryOnce(const char* soname,
                                   Status (*init)(const Api&, const SharedLibrary&) = nullptr) {
  static const Result<Api> loaded = [&]() -> Result<Api> {
    ASSIGN_OR_RETURN(SharedLibrary library, SharedLibrary::Open(soname));
    Api api;
    RETURN_IF_ERROR(api.Bind(library));
    if (init != nullptr) RETURN_IF_ERROR(init(api, library));
    return api;
  }();
  if (!loaded.ok()) return loaded.status();
  return &*loaded;
}

// The libraries behind the check kinds, as found at build time.
inline constexpr char kLibpqSoname[] = VITALS_LIBPQ_SONAME;            // postgres checks.
inline constexpr char kLibmariadbSoname[] = VITALS_LIBMARIADB_SONAME;  // mysql checks.
inline constexpr char kHiredisSoname[] = VITALS_HIREDIS_SONAME;        // redis checks.
// http checks of https:// URLs, or that follow redirects; plain http:// is
// served by the agent's own client (http_client.h).
inline constexpr char kLibcurlSoname[] = VITALS_LIBCURL_SONAME;

}  // namespace vitals::agent
