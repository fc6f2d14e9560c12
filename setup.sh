#!/usr/bin/env bash
# One command: install spikeem's dependencies (Debian 12 packages only), build
# it in Release with Ninja, and run the main demo (the event-driven CUBA
# benchmark, 1 s simulated; outputs and raster.png in out/cuba_delta/).
#   bash setup.sh            everything
#   bash setup.sh --no-demo  install and build only (what CI uses)
set -euo pipefail
cd "$(dirname "$0")"

packages=(g++ cmake ninja-build
          libboost-dev libboost-program-options-dev libtbb-dev libfmt-dev doctest-dev
          libprotobuf-dev protobuf-compiler librandom123-dev libbenchmark-dev
          python3-numpy python3-matplotlib)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build

if [ "${1:-}" != "--no-demo" ]; then
  ./build/spikeem run examples/benchmarks/cuba_delta.pbtxt --out out/cuba_delta
  /usr/bin/python3 examples/benchmarks/plot_raster.py out/cuba_delta
fi
