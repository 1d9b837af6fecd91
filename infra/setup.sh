#!/usr/bin/env bash
# Idempotent set-up for a fresh clone:
#   - rustfmt and clippy components (skipped when already present),
#   - a Python virtual environment at <repo>/.venv with infra/requirements.txt
#     (moto's server for local DynamoDB + Secrets Manager, cfn-lint, SAM CLI),
#   - Debian's chromium and chromium-driver for the dashboard's browser test
#     (tests/tests/dashboard.rs), installed with apt-get when missing.
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

# --- arm64 standard library for `make package` ----------------------------
# cargo-lambda cross-builds the deployed (arm64) binaries; the target's std
# comes from rustup like the components above.
if command -v rustup >/dev/null 2>&1; then
    if ! rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
        rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 \
            || die "'rustup target add aarch64-unknown-linux-gnu' failed (make package needs it)"
    fi
else
    echo "setup: warning: rustup not found: make package needs the aarch64-unknown-linux-gnu std" >&2
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
    # make package (cargo-lambda, zig), make bench-perf (awslambdaric), make lint (cargo-shear).
    for tool in cargo-lambda cargo-shear python-zig; do
        [[ -x "$VENV/bin/$tool" ]] || die "$tool missing from $VENV/bin after install"
    done
    "$VENV/bin/python" -c 'import awslambdaric, ziglang' 2>/dev/null \
        || die "awslambdaric or ziglang missing from $VENV after install"
    echo "$want" >"$STAMP"
fi

# --- Headless browser for the dashboard test -------------------------------
# Debian's packages (no browser download of its own). Without apt the test
# fails and says why; it is never skipped silently.
have_browser() {
    command -v chromedriver >/dev/null 2>&1 && { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; }
}
if ! have_browser; then
    if command -v apt-get >/dev/null 2>&1; then
        sudo_cmd=()
        [[ "$(id -u)" -ne 0 ]] && command -v sudo >/dev/null 2>&1 && sudo_cmd=(sudo)
        log="$(mktemp)"
        if ! { "${sudo_cmd[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends chromium chromium-driver; } >"$log" 2>&1; then
            cat "$log" >&2
            rm -f "$log"
            die "apt-get install chromium chromium-driver failed (the dashboard's browser test needs them)"
        fi
        rm -f "$log"
        have_browser || die "chromium or chromedriver still missing after apt-get install"
    else
        echo "setup: warning: apt-get not found: install chromium and chromedriver yourself; tests/tests/dashboard.rs fails without them" >&2
    fi
fi
