#!/usr/bin/env bash
# The test command: sets up (dependencies, data), builds, and runs the whole test suite with
# ctest (every label; each test has its own timeout; `ctest -L unit` in build/ runs the fast
# tests alone). The sanitizer build and the fuzzers are separate (scripts/sanitize.sh,
# scripts/fuzz.sh); CI (.ci/run) runs them after this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
(cd build && ctest -j "$(nproc)" --output-on-failure)
