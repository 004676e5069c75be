#include "agent/checks/shared_library.h"

#include <dlfcn.h>

#include <mutex>

namespace vitals::agent {
namespace {

// dlerror's text is per thread but the call sequence dlopen/dlsym + dlerror
// is not atomic against other users on the same thread; the lock keeps our
// own calls from interleaving with each other.
std::mutex& DlMutex() {
  static std::mutex mu;
  return mu;
}

std::string LastDlError() {
  const char* error = dlerror();
  return error != nullptr ? error : "unknown error";
}

}  // namespace

Result<SharedLibrary> SharedLibrary::Open(const std::string& soname) {
  std::lock_guard lock(DlMutex());
  void* handle = dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) return Status::Unavailable("cannot load " + soname + ": " + LastDlError());
  return SharedLibrary(handle, soname);
}

Result<void*> SharedLibrary::Lookup(const char* symbol) const {
  std::lock_guard lock(DlMutex());
  dlerror();  // Clears an earlier error: a symbol's address may be null.
  void* address = dlsym(handle_, symbol);
  if (address == nullptr) {
    return Status::Unavailable(soname_ + " has no function " + symbol + ": " + LastDlError());
  }
  return address;
}

bool IsLibraryLoaded(const std::string& soname) {
  std::lock_guard lock(DlMutex());
  void* handle = dlopen(soname.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (handle == nullptr) {
    dlerror();
    return false;
  }
  dlclose(handle);  // Drops only the reference RTLD_NOLOAD took.
  return true;
}

}  // namespace vitals::agent
