// Errors: user-facing failures are exceptions carrying "operation: reason"; each layer may add
// context as the error passes up ("loading model: reading header: file truncated").
// Internal invariants use assert().
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace oiad {

/// A failure caused by the input (a file, a data set, an option value). `main` prints
/// what() on one line and exits with code 1.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

/// A failure caused by how the program was called (bad option combination). Exit code 2.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& msg) : Error(msg) {}
};

/// A name taken from input (an archive entry, a file name) as it may appear in a one-line
/// message: every control character (bytes below 0x20, and 0x7f) written as \xNN.
std::string printable(const std::string& name);

/// Returns "context: original message" as a new exception of the same kind.
[[noreturn]] void rethrow_with_context(const std::string& context);

namespace detail {
template <typename... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace detail

}  // namespace oiad

/// Throws oiad::Error("<message parts>") when cond is false.
#define OIAD_CHECK(cond, ...)                                    \
  do {                                                           \
    if (!(cond)) throw ::oiad::Error(::oiad::detail::concat(__VA_ARGS__)); \
  } while (0)

/// Throws oiad::UsageError when cond is false.
#define OIAD_CHECK_USAGE(cond, ...)                                   \
  do {                                                                \
    if (!(cond)) throw ::oiad::UsageError(::oiad::detail::concat(__VA_ARGS__)); \
  } while (0)
