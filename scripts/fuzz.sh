#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang with address and undefined-behaviour
# sanitizers) and runs each for SECONDS, one after the other, starting from the seed corpora
# in tests/fuzz/corpus (new inputs go to build-fuzz/corpus, never into the repository).
# Prints one row per target: executions, crashes; a crashing input is saved under
# build-fuzz/artifacts/<target>/ (add it to tests/fuzz/regressions/<target>/ once fixed).
# Usage: scripts/fuzz.sh SECONDS [TARGET...]   Exit status 1 when any target crashed.
# OIAD_FUZZ_JOBS=N runs N targets at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:?usage: scripts/fuzz.sh SECONDS [TARGET...]}"
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(idx cifar image archive model split)

cxx="${OIAD_FUZZ_CXX:-$(command -v clang++-14 || command -v clang++ || true)}"
[ -n "$cxx" ] || { echo "fuzz: clang++ not found (Debian: apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 1; }
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
if [ ! -f build-fuzz/CMakeCache.txt ]; then
  cmake -S . -B build-fuzz "${generator[@]}" -DOIAD_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER="$cxx" >build-fuzz.configure.log 2>&1 ||
    { cat build-fuzz.configure.log >&2; exit 1; }
  rm -f build-fuzz.configure.log
fi
cmake --build build-fuzz -j "$(nproc)" >/dev/null

# One target: its libFuzzer run, then a result row in build-fuzz/<target>.row.
run_target() {
  local t="$1" log="build-fuzz/$1.log" rc runs took crashes=0
  mkdir -p "build-fuzz/corpus/$t" "build-fuzz/artifacts/$t"
  # -rss_limit_mb: a parser that holds more than 2 GB for any input is a bug (the inputs'
  # own limits are lowered for fuzzing, tests/fuzz/targets.h).
  set +e
  "build-fuzz/tests/fuzz/${t}_fuzz" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=25 \
    -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$t/" \
    "build-fuzz/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
  [ "$rc" -eq 0 ] || crashes=1
  printf '%-8s %12s %8s %8s\n' "$t" "${runs:-?}" "${took:-$seconds}" "$crashes" >"build-fuzz/$t.row"
}

# OIAD_FUZZ_JOBS targets at a time (default 1: one core each, the rest of the machine free).
jobs_max="${OIAD_FUZZ_JOBS:-1}"
for t in "${targets[@]}"; do
  rm -f "build-fuzz/$t.row"
  run_target "$t" &
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n || true; done
done
wait

status=0
printf '%-8s %12s %8s %8s\n' target executions seconds crashes
for t in "${targets[@]}"; do
  cat "build-fuzz/$t.row"
  if [ "$(awk '{print $4}' "build-fuzz/$t.row")" != 0 ]; then
    status=1
    echo "fuzz: $t crashed; see build-fuzz/$t.log and build-fuzz/artifacts/$t/" >&2
  fi
done
exit $status
