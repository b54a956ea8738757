#!/usr/bin/env bash
# Installs, quietly and only when missing, the Debian packages hookflow's optional parts use:
# Open MPI (data-parallel training), OpenBLAS (native GEMM under the wasm backend) and
# Chromium (the dashboard's browser test). Needs root; without it, says what to install.
set -euo pipefail
packages=(openmpi-bin libopenmpi-dev libopenblas-dev chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "hookflow: optional system packages missing: ${missing[*]} (apt-get install them as root)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
