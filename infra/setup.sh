#!/usr/bin/env bash
# Idempotent set-up for a fresh clone:
#   - rustfmt and clippy components (skipped when already present),
#   - a Python virtual environment at <repo>/.venv with infra/requirements.txt
#     (moto's server for local DynamoDB + Secrets Manager, cfn-lint, SAM CLI).
# Re-running is cheap: pip is skipped while the requirements' hash matches the
# stamp written after the last successful install. Quiet on success.
#
# Environment:
#   PYTHON        interpreter used to create the venv (default: python3)
#   SETUP_VERBOSE=1  show pip's output
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
REQ="$ROOT/infra/requirements.txt"
STAMP="$VENV/.requirements.sha256"
PYTHON="${PYTHON:-python3}"

die() { echo "setup: $*" >&2; exit 1; }

# --- Rust components -------------------------------------------------------
if command -v rustup >/dev/null 2>&1; then
    installed="$(rustup component list --installed 2>/dev/null || true)"
    missing=()
    for c in rustfmt clippy; do
        grep -q "^$c" <<<"$installed" || missing+=("$c")
    done
    if ((${#missing[@]})); then
        if ! rustup component add "${missing[@]}" >/dev/null 2>&1; then
            # Offline or a toolchain managed elsewhere: only fail when the
            # tools are really unusable.
            for c in "${missing[@]}"; do
                case "$c" in
                    rustfmt) cargo fmt --version >/dev/null 2>&1 || die "rustfmt is missing and 'rustup component add rustfmt' failed" ;;
                    clippy) cargo clippy --version >/dev/null 2>&1 || die "clippy is missing and 'rustup component add clippy' failed" ;;
                esac
            done
        fi
    fi
else
    cargo fmt --version >/dev/null 2>&1 || echo "setup: warning: rustup not found and rustfmt unavailable" >&2
    cargo clippy --version >/dev/null 2>&1 || echo "setup: warning: rustup not found and clippy unavailable" >&2
fi

# --- Python virtual environment -------------------------------------------
command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found (Python >= 3.9 is needed for moto and cfn-lint)"

if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV" || die "could not create $VENV (on Debian/Ubuntu: apt-get install python3-venv)"
    rm -f "$STAMP"
fi

want="$(sha256sum "$REQ" | cut -d' ' -f1)"
have="$(cat "$STAMP" 2>/dev/null || true)"
if [[ "$want" != "$have" ]]; then
    log="$(mktemp)"
    trap 'rm -f "$log"' EXIT
    quiet=(--quiet --disable-pip-version-check)
    [[ "${SETUP_VERBOSE:-}" == 1 ]] && quiet=(--disable-pip-version-check)
    if ! "$VENV/bin/python" -m pip install "${quiet[@]}" -r "$REQ" >"$log" 2>&1; then
        cat "$log" >&2
        die "pip install -r infra/requirements.txt failed"
    fi
    [[ "${SETUP_VERBOSE:-}" == 1 ]] && cat "$log"
    for tool in moto_server cfn-lint sam; do
        [[ -x "$VENV/bin/$tool" ]] || die "$tool missing from $VENV/bin after install"
    done
    echo "$want" >"$STAMP"
fi
