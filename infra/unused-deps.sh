#!/usr/bin/env bash
# The unused-dependency check of `make lint`: cargo-shear (a prebuilt binary
# from PyPI, installed into .venv by infra/setup.sh) over the workspace.
#
# Every finding is printed. The check fails on a finding that is not listed
# in infra/unused-deps-known.txt: the findings that were there when the
# check was added, in crates whose owners have yet to act on them (remove the
# dependency, move it to [dev-dependencies], or add it to the crate's
# [package.metadata.cargo-shear] ignored list with the reason). A listed
# finding that no longer appears is reported so that its line can go.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KNOWN="$ROOT/infra/unused-deps-known.txt"
SHEAR="$ROOT/.venv/bin/cargo-shear"
cd "$ROOT"
[[ -x "$SHEAR" ]] || { echo "unused-deps: $SHEAR missing: run 'make setup'" >&2; exit 1; }

json="$(mktemp)"
trap 'rm -f "$json"' EXIT
# Exit status 1 means findings; anything else it says is a failure to run.
status=0
PATH="$ROOT/.venv/bin:$PATH" cargo shear --locked --format=json >"$json" || status=$?
if ((status > 1)); then
    echo "unused-deps: cargo shear failed ($status)" >&2
    exit "$status"
fi

"$ROOT/.venv/bin/python" - "$json" "$KNOWN" <<'PY'
import json, sys

report = json.load(open(sys.argv[1]))
known = set()
try:
    for line in open(sys.argv[2]):
        line = line.split("#", 1)[0].strip()
        if line:
            known.add(line)
except FileNotFoundError:
    pass

findings = [f"{f['file']}: {f['message']}" for f in report.get("findings", [])]
new = [f for f in findings if f not in known]
gone = sorted(known - set(findings))
for f in findings:
    print(f"unused-deps: {'NEW   ' if f in new else 'known '} {f}")
for f in gone:
    print(f"unused-deps: fixed  {f} (remove its line from infra/unused-deps-known.txt)")
if new:
    print(f"unused-deps: {len(new)} new finding(s): remove the dependency, move it to "
          "[dev-dependencies], or list it in the crate's [package.metadata.cargo-shear] "
          "ignored with the reason", file=sys.stderr)
    sys.exit(1)
print(f"unused-deps: {len(findings)} known finding(s), none new")
PY
