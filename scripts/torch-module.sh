# Sourced by the scripts that run a remat_torch measurement module
# (fidelity.sh, seed-comparison.sh): one option parser and one launcher.
#
# run_torch_module NAME MODULE DEFAULT_OUT [ARGS...]
#   --out DIR and --remat BINARY are read here; -h/--help prints the
#   calling script's header comment; everything else goes to
#   `python -m MODULE --remat BINARY --out DIR ...`.
# environment: PYTHON (default /opt/remat-py/bin/python).
run_torch_module() {
  local name=$1 module=$2 out=$3
  shift 3
  local root remat args=()
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  remat=$root/build/cli/remat
  while [ $# -gt 0 ]; do
    case $1 in
      --out) out=$2; shift 2 ;;
      --remat) remat=$2; shift 2 ;;
      -h|--help) sed -n '2,/^[^#]/{/^#/p}' "$0"; exit 0 ;;
      *) args+=("$1"); shift ;;
    esac
  done
  local py=${PYTHON:-/opt/remat-py/bin/python}
  [ -x "$remat" ] || { echo "$name: no $remat; run scripts/build.sh" >&2; exit 2; }
  PYTHONPATH="$root/python${PYTHONPATH:+:$PYTHONPATH}" \
    exec "$py" -m "$module" --remat "$remat" --out "$out" "${args[@]}"
}
