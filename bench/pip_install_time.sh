#!/usr/bin/env bash
# How long `pip install` of the source tree takes from an empty build directory (the library
# and the Python module compiled by setup.py's CMake build), offline, into a fresh virtual
# environment, and then again with the build directory kept. Writes OUT/result.json (commit,
# date, CPU, cores, seconds of each install, the command) and OUT/pip.log (the first install's
# output, the source folder written SRC). Run alone: a compile beside it changes the time.
#   bench/pip_install_time.sh [OUT]    (default bench/records/DATE-pip-install)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out=${1:-$root/bench/records/$(date -u +%F)-pip-install}
python=/usr/bin/python3; [ -x "$python" ] || python=python3
mkdir -p "$out"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$python" -m venv --system-site-packages "$tmp/env"
install() {  # seconds of one `pip install` of the source tree, its output appended to $1
  local start end
  start=$(date +%s.%N)
  (cd "$tmp" && OIAD_BUILD_DIR="$tmp/build" "$tmp/env/bin/pip" install --no-build-isolation --no-index \
    --force-reinstall --no-deps "$root") >> "$1" 2>&1
  end=$(date +%s.%N)
  "$python" -c "print(round($end - $start, 1))"
}
first=$(install "$tmp/pip.log")
sed -e "s|$root|SRC|g" -e "s|$tmp|TMP|g" -e "s|/tmp/[^ ]*|TMP|g" "$tmp/pip.log" > "$out/pip.log"  # no machine paths in the record
again=$(install "$tmp/again.log")
(cd "$tmp" && "$tmp/env/bin/python" -c "import oiad; print(oiad.__version__)") > "$tmp/version"
"$python" - "$out/result.json" "$first" "$again" "$(cat "$tmp/version")" "$(git -C "$root" rev-parse HEAD)" <<'PY'
import json, os, platform, sys, time
path, first, again, version, commit = sys.argv[1:]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")
json.dump({"what": "pip install of the source tree from an empty build directory, then again with it kept",
           "command": "OIAD_BUILD_DIR=EMPTY pip install --no-build-isolation --no-index --force-reinstall --no-deps .",
           "commit": commit, "date": time.strftime("%Y-%m-%d", time.gmtime()), "cpu": cpu, "cores": os.cpu_count(),
           "python": platform.python_version(), "oiad_version": version,
           "first_install_seconds": round(float(first), 1), "second_install_seconds": round(float(again), 1)},
          open(path + ".tmp", "w"), indent=2)
os.replace(path + ".tmp", path)
print(open(path).read())
PY
