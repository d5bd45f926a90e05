#!/usr/bin/env bash
# Configures and builds oiad into build/ (binary: build/oiad). Incremental after the first run.
# Usage: scripts/build.sh [cmake --build arguments, e.g. --target oiad_cli]  (default: every
# target of the default build: the CLI, the tests, the Python module, the example)
set -euo pipefail
cd "$(dirname "$0")/.."
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
# The Python module is built for Debian's python3, for which scripts/setup.sh installs numpy and
# pytest (another python3 first on PATH, e.g. from pyenv, may lack them).
python=()
[ -x /usr/bin/python3 ] && python=(-DPython3_EXECUTABLE=/usr/bin/python3)
if [ ! -f build/CMakeCache.txt ]; then
  cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "${python[@]}" >/dev/null
fi
cmake --build build -j "$(nproc)" "$@"
