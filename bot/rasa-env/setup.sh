#!/usr/bin/env bash
# Build the separate Rasa Open Source 3.6 environment used by the Rasa test tier.
#
# Rasa 3.6 needs Python < 3.11 and pins SQLAlchemy < 1.5, twilio < 8.3, TensorFlow 2.12, ...
# so it can never share the app's .venv (Python 3.11). This script creates its own venv:
#
#   bash bot/rasa-env/setup.sh            create/update ${RASA_VENV:-<repo>/.rasa-venv}
#   bash bot/rasa-env/setup.sh --check    exit 0 if the env is complete, 1 if not (no changes)
#   bash bot/rasa-env/setup.sh --force    delete the env and rebuild it from scratch
#
# Environment:
#   RASA_VENV    where to put the env (default: <repo>/.rasa-venv)
#   RASA_PYTHON  interpreter to use (a Python 3.10, or 3.11 for the fallback recipe)
#
# Interpreter choice: Python 3.10 first (PATH, /root/.pyenv/versions/3.10*/, `pyenv prefix
# 3.10`); otherwise Python 3.11 with the fallback recipe (rasa/rasa-sdk installed ignoring
# their Requires-Python, matplotlib 3.6.3; see requirements.txt). Every pin comes from
# requirements.txt, installed with --no-deps and verified with `pip check`.
# Idempotent: a stamp file in the env records the sha256 of requirements.txt, the Python
# version and the recipe; when it matches, the script does nothing. Cold build: ~4-5 min
# (downloads ~1 GB), env ~2.7 GB.
set -Eeuo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
PROJECT="$(cd "$SCRIPT_DIR/../.." && pwd -P)"
REQ="$SCRIPT_DIR/requirements.txt"
VENV="${RASA_VENV:-$PROJECT/.rasa-venv}"
case "$VENV" in /*) ;; *) VENV="$PWD/$VENV" ;; esac
VENV="${VENV%/}"
STAMP="$VENV/.rasa-env-stamp"
T0=$SECONDS

log() { printf '[rasa-env %3ds] %s\n' "$((SECONDS - T0))" "$*"; }
die() {
  printf '\n[rasa-env] ERROR: %s\n' "$*" >&2
  printf '[rasa-env] setup of %s did not complete.\n' "$VENV" >&2
  exit 1
}
trap 'die "command failed (exit $?) at line $LINENO: $BASH_COMMAND"' ERR

usage() { sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

MODE=install
for arg in "$@"; do
  case "$arg" in
    --check) MODE=check ;;
    --force) MODE=force ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $arg" ;;
  esac
done

[[ -f "$REQ" ]] || die "missing $REQ"
# Never touch the app's own environment, whatever RASA_VENV says.
for forbidden in "$PROJECT/.venv" "$PROJECT" "/"; do
  [[ "$VENV" != "$forbidden" ]] || die "RASA_VENV=$VENV is not allowed (the app's env or the repo itself); use e.g. $PROJECT/.rasa-venv"
done
# Settings from an activated app venv must not leak into the build.
unset PYTHONPATH PYTHONHOME VIRTUAL_ENV PIP_REQUIRE_VIRTUALENV || true
export PIP_DISABLE_PIP_VERSION_CHECK=1 RASA_TELEMETRY_ENABLED=false

# --- choose the interpreter -------------------------------------------------------------
# `command -v python3.10` is not enough: a pyenv shim exists on PATH even when 3.10 is not
# the active pyenv version, and then fails with "command not found". So run each candidate.
py_minor() { # prints "3.10" etc. if $1 runs and has working venv+ensurepip
  "$1" -c 'import sys, venv, ensurepip; print("%d.%d" % sys.version_info[:2])' 2>/dev/null
}
pyenv_root() { if command -v pyenv >/dev/null 2>&1; then pyenv root 2>/dev/null; fi; }

candidates() { # $1 = minor version, e.g. 3.10
  local v="$1" root p
  command -v "python$v" 2>/dev/null || true
  root="$(pyenv_root || true)"
  for p in /root/.pyenv/versions/"$v".*/bin/"python$v" ${root:+"$root"/versions/"$v".*/bin/"python$v"}; do
    [[ -x "$p" ]] && echo "$p"
  done | sort -Vru || true
  if command -v pyenv >/dev/null 2>&1; then
    p="$(pyenv prefix "$v" 2>/dev/null || true)"
    [[ -n "$p" ]] && echo "$p/bin/python$v"
  fi
  echo "/usr/bin/python$v"
  echo "/usr/local/bin/python$v"
}

find_python() { # $1 = minor version; prints first working interpreter
  local c
  while IFS= read -r c; do
    [[ -n "$c" && -x "$c" ]] || continue
    if [[ "$(py_minor "$c")" == "$1" ]]; then echo "$c"; return 0; fi
  done < <(candidates "$1")
  return 1
}

if [[ -n "${RASA_PYTHON:-}" ]]; then
  PY="$RASA_PYTHON"
  PYV="$(py_minor "$PY")" || die "RASA_PYTHON=$PY does not run (or lacks venv/ensurepip)"
elif PY="$(find_python 3.10)"; then
  PYV=3.10
elif PY="$(find_python 3.11)"; then
  PYV=3.11
else
  die "no usable Python 3.10 (preferred) or 3.11 found. Install one (e.g. \`pyenv install 3.10.13\`) or set RASA_PYTHON=/path/to/python3.10"
fi
case "$PYV" in
  3.10) RECIPE="py310-exact" ; EXTRA_PIP=() ;;
  3.11) RECIPE="py311-fallback" ; EXTRA_PIP=(--ignore-requires-python) ;;
  *) die "$PY is Python $PYV; Rasa 3.6 needs 3.10 (or 3.11 via the fallback recipe)" ;;
esac
PY_FULL="$("$PY" -c 'import platform; print(platform.python_version())')"

REQ_SHA="$(sha256sum "$REQ" | cut -d' ' -f1)"
WANT_STAMP="requirements-sha256=$REQ_SHA
python=$PY_FULL
recipe=$RECIPE"

env_complete() {
  [[ -f "$STAMP" && -x "$VENV/bin/python" && -x "$VENV/bin/rasa" ]] || return 1
  [[ "$(cat "$STAMP")" == "$WANT_STAMP" ]] || return 1
  "$VENV/bin/python" -c 'import importlib.metadata as m; m.version("rasa")' >/dev/null 2>&1
}

if [[ "$MODE" == check ]]; then
  trap - ERR
  if env_complete; then echo "[rasa-env] complete: $VENV ($RECIPE, Python $PY_FULL)"; exit 0; fi
  echo "[rasa-env] NOT complete: $VENV (run bash bot/rasa-env/setup.sh)" >&2
  exit 1
fi

# One build at a time per env (two shells or CI jobs sharing a machine).
mkdir -p "$(dirname "$VENV")"
if command -v flock >/dev/null 2>&1; then
  # lock file outside the repo, one per env path
  exec 9>"${TMPDIR:-/tmp}/rasa-env-$(printf '%s' "$VENV" | sha256sum | cut -c1-16).lock"
  flock -n 9 || { log "another setup.sh is building $VENV; waiting for it..."; flock 9; }
fi

if [[ "$MODE" != force ]] && env_complete; then
  log "already complete: $VENV ($RECIPE, Python $PY_FULL, requirements ${REQ_SHA:0:12}); nothing to do"
  exit 0
fi

log "Rasa env: $VENV"
log "python:   $PY (Python $PY_FULL) -> recipe $RECIPE"
[[ "$RECIPE" == py310-exact ]] || log "no Python 3.10 found: using the Python 3.11 fallback (--ignore-requires-python, matplotlib 3.6.3)"

# --- (re)create the venv if missing, broken, on the wrong Python, or --force ------------
if [[ -e "$VENV" ]]; then
  reason=""
  if [[ "$MODE" == force ]]; then
    reason="--force"
  elif [[ ! -x "$VENV/bin/python" ]]; then
    reason="no working bin/python"
  elif [[ "$("$VENV/bin/python" -c 'import platform; print(platform.python_version())' 2>/dev/null)" != "$PY_FULL" ]]; then
    reason="built with a different Python than $PY_FULL"
  fi
  if [[ -n "$reason" ]]; then
    [[ -f "$VENV/pyvenv.cfg" ]] || die "$VENV exists but is not a virtualenv (no pyvenv.cfg); refusing to delete it. Remove it or set RASA_VENV."
    log "removing existing env ($reason)"
    rm -rf "$VENV"
  else
    log "reusing existing venv (stamp missing or out of date): installing/updating pins"
  fi
fi
rm -f "$STAMP"
if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating venv"
  "$PY" -m venv "$VENV" || die "\`$PY -m venv $VENV\` failed"
fi
VPY="$VENV/bin/python"

# --- install the exact set ---------------------------------------------------------------
# This machine's pip config lists local file:// indexes that lack most projects; pip warns
# twice per package about them. Drop that noise, keep everything else.
quiet_pip() {
  "$VPY" -m pip "$@" 2>&1 | sed -u "/^WARNING: Location 'file:.*' is ignored: it is neither a file nor a directory\.\$/d"
}

log "installing $(grep -c -E '^[A-Za-z0-9]' "$REQ") pinned packages from ${REQ#"$PROJECT"/} (~1 GB download on a cold pip cache)"
quiet_pip install --no-deps --prefer-binary --progress-bar off "${EXTRA_PIP[@]}" -r "$REQ" ||
  die "pip install failed (see output above). PyPI must be reachable; on Python 3.11 multidict 5.2.0 builds from source and needs gcc + python3.11 headers."

log "checking dependency consistency (pip check)"
check_out="$("$VPY" -m pip check 2>&1 | grep -v "^WARNING: Location 'file:" || true)"
if [[ "$RECIPE" == py311-fallback ]]; then
  # The one conflict the 3.11 recipe accepts on purpose.
  check_out="$(printf '%s\n' "$check_out" | grep -v -E '^rasa 3\.6\.[0-9]+ has requirement matplotlib<3\.6,>=3\.1, but you have matplotlib 3\.6\.3\.$' | grep -v '^No broken requirements found\.$' || true)"
else
  check_out="$(printf '%s\n' "$check_out" | grep -v '^No broken requirements found\.$' || true)"
fi
if [[ -n "${check_out//[[:space:]]/}" ]]; then
  printf '%s\n' "$check_out" >&2
  die "pip check found missing/conflicting dependencies: requirements.txt is incomplete or inconsistent"
fi

log "smoke test: rasa --version, and importing TensorFlow + the Rasa NLU/Core stack"
smoke() { # run "$@" quietly; show its output only if it fails
  local out
  if ! out="$(PYTHONWARNINGS=ignore TF_CPP_MIN_LOG_LEVEL=2 "$@" 2>&1)"; then
    printf '%s\n' "$out" >&2
    return 1
  fi
  printf '%s\n' "$out" | grep -E '^(Rasa Version|Rasa SDK Version|Python Version|imports ok)' || true
}
smoke "$VENV/bin/rasa" --version || die "\`$VENV/bin/rasa --version\` failed"
smoke "$VPY" -c '
import tensorflow, sklearn, rasa_sdk, rasa.core.agent
import rasa.nlu.classifiers.logistic_regression_classifier
print("imports ok: tensorflow", tensorflow.__version__, "scikit-learn", sklearn.__version__)
' || die "importing the Rasa stack (tensorflow, sklearn, rasa.core.agent) failed"

printf '%s\n' "$WANT_STAMP" >"$STAMP.tmp" && mv "$STAMP.tmp" "$STAMP"
log "done: $VENV ($(du -sh "$VENV" 2>/dev/null | cut -f1)). Use $VENV/bin/rasa; set RASA_TELEMETRY_ENABLED=false when running it."
