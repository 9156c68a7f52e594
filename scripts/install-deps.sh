#!/usr/bin/env bash
# Installs the Debian packages remat needs, skipping those already present.
# Run as root on Debian 12. Safe to run repeatedly.
set -euo pipefail
pkgs=(cmake ninja-build g++ llvm-19-dev libzstd-dev nlohmann-json3-dev
      libfmt-dev doctest-dev coinor-libcbc-dev python3 python3-torch
      python3-numpy clang-format clang libclang-rt-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing ${missing[*]}; run as root (or with sudo)" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
