#!/usr/bin/env bash
# Builds oiad with AddressSanitizer and UndefinedBehaviorSanitizer (-DOIAD_SANITIZE=ON) into
# build-asan/ and runs the unit tests there; any report fails the run. Incremental after the
# first run. Usage: scripts/sanitize.sh [ctest arguments, default: -L unit]
set -euo pipefail
cd "$(dirname "$0")/.."
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
if [ ! -f build-asan/CMakeCache.txt ]; then
  # -O1: the sanitizers' usual level; compiles faster than -O3, and keeps assert() on.
  cmake -S . -B build-asan "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE=-O1 \
    -DOIAD_SANITIZE=ON >/dev/null
fi
cmake --build build-asan -j "$(nproc)" --target oiad_tests
cd build-asan
[ $# -gt 0 ] || set -- -L unit
ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}" \
  ctest -j "$(nproc)" --output-on-failure "$@"
