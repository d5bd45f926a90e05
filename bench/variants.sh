#!/usr/bin/env bash
# Trains Detector-VAE variants on one class and evaluates each on the paper split's test part.
# Usage: bench/variants.sh DATA CLASS EPOCHS OUTDIR [THREADS]
# Writes OUTDIR/<variant>.oiad, OUTDIR/<variant>.train.json, OUTDIR/<variant>.eval.json.
set -euo pipefail
data=$1; cls=$2; epochs=$3; out=$4; threads=${5:-2}
bin="$(dirname "$0")/../build/oiad"
mkdir -p "$out"
declare -A variants=(
  [l2_kl0.1]="--recon l2 --kl-weight 0.1"
  [bern_kl0.1]="--recon bernoulli --kl-weight 0.1"
  [l2_kl1]="--recon l2 --kl-weight 1"
  [bern_kl1]="--recon bernoulli --kl-weight 1"
)
for v in l2_kl0.1 bern_kl0.1 l2_kl1 bern_kl1; do
  [ -s "$out/$v.eval.json" ] && continue
  "$bin" --threads "$threads" train --data "$data" --normal-class "$cls" --epochs "$epochs" \
    ${variants[$v]} --out "$out/$v.oiad" > "$out/$v.train.json" 2> "$out/$v.train.log"
  "$bin" --threads "$threads" evaluate --model "$out/$v.oiad" --out "$out/$v.eval" > "$out/$v.eval.json" 2> "$out/$v.eval.log"
  echo "$v $(cat "$out/$v.eval.json")"
done
