#!/usr/bin/env bash
# The test command: sets up (dependencies, data), builds, and runs the whole test suite with
# ctest (every label; each test has its own timeout; `ctest -L unit` in build/ runs the fast
# tests alone). The sanitizer build and the fuzzers are separate (scripts/sanitize.sh,
# scripts/fuzz.sh); CI (.ci/run) runs them after this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
# The data sets setup provides (and the shared data folder's, when it is beside the checkout)
# must be readable: the RealData tests fail, instead of skipping, when one of these is absent.
require=mnist,fashion-mnist
[ -e ../shared/data/cifar10-jpeg.tar.gz ] && require+=,cifar10
[ -e ../shared/data/magnetic-tile.tar ] && require+=,magnetic-tile
export OIAD_REQUIRE_DATA="${OIAD_REQUIRE_DATA:-$require}"
(cd build && ctest -j "$(nproc)" --output-on-failure)
