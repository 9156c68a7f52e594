#!/usr/bin/env bash
# Installs what remat needs, skipping what is already there:
#  1. the Debian packages below;
#  2. one Python venv outside the clone (REMAT_VENV, default /opt/remat-py)
#     holding the pinned packages of scripts/python-pins.txt (PyTorch 2.x,
#     transformers, diffusers, timm, jax, megatron-core, deepspeed,
#     torchtitan) for the Python tests and remat_torch.
# Run as root on Debian 12. Safe to run repeatedly: when the venv's stamp file
# holds the SHA-256 of the pin list it downloads nothing and returns at once.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
pkgs=(cmake ninja-build g++ llvm-19-dev libzstd-dev nlohmann-json3-dev
      libfmt-dev doctest-dev coinor-libcbc-dev python3 python3-venv
      clang-format clang libclang-rt-dev)
venv=${REMAT_VENV:-/opt/remat-py}
pins=$root/scripts/python-pins.txt
pip_version=26.3

need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: $1; run as root (or with sudo)" >&2
    exit 1
  fi
}

install_debian() {
  local missing=() p
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
      grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all Debian packages present"
    return
  fi
  need_root "missing ${missing[*]}"
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
}

install_venv() {
  # The stamp names the pin list and the interpreter: a new python3 from
  # Debian (another minor version) needs new wheels too.
  local want stamp=$venv/.remat-pins.sha256
  want=$( { cat "$pins"; /usr/bin/python3 --version; echo "pip $pip_version"; } |
          sha256sum | cut -d' ' -f1)
  if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] &&
     [ "$(cat "$stamp")" = "$want" ]; then
    echo "install-deps: Python venv $venv up to date"
    return
  fi
  [ -w "$(dirname "$venv")" ] || need_root "cannot write $(dirname "$venv")"
  echo "install-deps: installing the pinned Python packages into $venv" \
       "(about 6.7 GB on a new machine, most of it PyTorch's CUDA wheels)"
  local start=$SECONDS
  [ -x "$venv/bin/python" ] || /usr/bin/python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check \
    "pip==$pip_version"
  # Every transitive dependency is pinned, so --no-deps installs exactly the
  # list; packages already at their pinned version are skipped.
  "$venv/bin/python" -m pip install -q --disable-pip-version-check \
    --no-deps -r "$pins"
  "$venv/bin/python" -m pip check
  echo "$want" > "$stamp"
  echo "install-deps: Python venv ready in $((SECONDS - start)) s"
}

install_debian
install_venv
