#!/usr/bin/env bash
# Starts N ranks of a command on this machine, the way torchrun does: each gets RANK,
# LOCAL_RANK, WORLD_SIZE, MASTER_ADDR=127.0.0.1 and a free MASTER_PORT in its environment, and
# the machine's cores divided among them (OMP_NUM_THREADS, unless set). Waits for all; when a
# rank fails the others are stopped, and the exit status is the first failure's.
#   scripts/launch_local.sh 2 build/oiad score --model m.oiad --split test --out scores.jsonl
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: scripts/launch_local.sh N COMMAND [ARGS...]" >&2; exit 2; }
n=$1; shift
[[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "launch_local: N '$n' is not a positive number" >&2; exit 2; }
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
threads=${OMP_NUM_THREADS:-$(( $(nproc) / n > 0 ? $(nproc) / n : 1 ))}
declare -A alive
for ((r = 0; r < n; r++)); do
  RANK=$r LOCAL_RANK=$r WORLD_SIZE=$n MASTER_ADDR=127.0.0.1 MASTER_PORT=$port OMP_NUM_THREADS=$threads "$@" &
  alive[$!]=1
done
status=0
while [ ${#alive[@]} -gt 0 ]; do
  code=0 finished=""
  wait -n -p finished "${!alive[@]}" || code=$?
  unset "alive[$finished]"
  if [ "$code" -ne 0 ] && [ "$status" -eq 0 ]; then
    status=$code
    echo "launch_local: a rank exited with status $code; stopping the others" >&2
    [ ${#alive[@]} -eq 0 ] || kill "${!alive[@]}" 2>/dev/null || true
  fi
done
exit "$status"
