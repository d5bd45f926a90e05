#!/usr/bin/env bash
# Sets up (dependencies, data), builds, and runs the whole test suite with ctest (each test
# has its own timeout; `ctest -L unit` in build/ runs the fast tests alone); then the unit
# tests again under AddressSanitizer and UndefinedBehaviorSanitizer (scripts/sanitize.sh), and
# every fuzz target for 30 seconds (scripts/fuzz.sh). Any failure, sanitizer report or fuzzer
# crash fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
(cd build && ctest -j "$(nproc)" --output-on-failure)
bash scripts/sanitize.sh
OIAD_FUZZ_JOBS="$(nproc)" bash scripts/fuzz.sh "${OIAD_FUZZ_SECONDS:-30}"
