#!/usr/bin/env bash
# Sets up (dependencies, data), builds, and runs the whole test suite with ctest (each test
# has its own timeout; `ctest -L unit` in build/ runs the fast tests alone).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
cd build
ctest -j "$(nproc)" --output-on-failure
