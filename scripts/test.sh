#!/usr/bin/env bash
# Sets up (dependencies, data), builds, and runs the whole test suite with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
cd build
ctest -j "$(nproc)" --output-on-failure --timeout 1200
