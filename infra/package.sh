#!/usr/bin/env bash
# `make package`: the arm64 release build SAM deploys, without SAM or Docker.
#
# Reads every AWS::Serverless::Function of template.yaml built with
# `BuildMethod: rust-cargolambda` (its Metadata.BuildProperties.Binary), runs
# ONE `cargo lambda build --release --arm64 --locked --bin B1 --bin B2 ...`
# for all of them (as `sam build` does per function, with the same release
# settings cargo-lambda applies), and lays the result out the way `sam build`
# does:
#
#   .aws-sam/build/<LogicalId>/bootstrap   the function's binary (aarch64 ELF)
#   .aws-sam/build/template.yaml          template.yaml with each function's
#                                         CodeUri pointing at its directory
#   .aws-sam/zips/<LogicalId>.zip         bootstrap alone, mode 0755, fixed
#                                         timestamps (what Lambda is sent)
#
# then prints a table of binary and zip sizes against the 3.5 MB target.
# Fails when a declared binary is missing, is not an aarch64 ELF, or when a
# zip is over Lambda's 50 MB direct-upload limit. Sizes over the 3.5 MB
# target are reported, not fatal (PACKAGE_STRICT=1 makes them fatal).
#
# cargo-lambda and zig come from the venv (infra/requirements.txt); the
# aarch64-unknown-linux-gnu std from rustup (infra/setup.sh adds both).
#
# Environment:
#   PACKAGE_DIR     output directory (default <repo>/.aws-sam; with
#                   PACKAGE_QUICK=1, <target>/package-check)
#   PACKAGE_QUICK   1: the check `make test` runs (docs/performance.md): the
#                   same build, target, binaries, layout and checks, but
#                   without LTO and with 16 codegen units, so it costs about
#                   half the CPU; its sizes are not the deployed ones
#   PACKAGE_STRICT  1: fail when a zip is over the 3.5 MB target
#   CARGO_TARGET_DIR honoured as by cargo
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
QUICK="${PACKAGE_QUICK:-0}"
TARGET_ZIP_BYTES=$((3500 * 1000))   # 3.5 MB target (decimal, as S3 and the console count)
LAMBDA_ZIP_LIMIT=$((50 * 1024 * 1024))

die() { echo "package: $*" >&2; exit 1; }

cd "$ROOT"
[[ -x "$VENV/bin/cargo-lambda" ]] || die "cargo-lambda missing from $VENV/bin: run 'make setup' (bash infra/setup.sh)"
# cargo finds the `lambda` subcommand, and cargo-lambda finds zig
# (`python3 -m ziglang`), through the venv.
export PATH="$VENV/bin:$PATH"

# LogicalId<TAB>Binary for each cargo-lambda function, in template order.
mapfile -t rows < <("$VENV/bin/python" - "$ROOT/template.yaml" <<'PY'
import sys, yaml

class Loader(yaml.SafeLoader):
    pass

# CloudFormation short forms (!Ref, !If, ...) are irrelevant here.
Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
with open(sys.argv[1]) as f:
    template = yaml.load(f, Loader=Loader)
found = 0
for logical_id, res in (template.get("Resources") or {}).items():
    if not isinstance(res, dict) or res.get("Type") != "AWS::Serverless::Function":
        continue
    meta = res.get("Metadata") or {}
    if meta.get("BuildMethod") != "rust-cargolambda":
        continue
    binary = (meta.get("BuildProperties") or {}).get("Binary")
    if not binary:
        sys.exit(f"{logical_id}: BuildMethod rust-cargolambda without BuildProperties.Binary")
    print(f"{logical_id}\t{binary}")
    found += 1
if not found:
    sys.exit("no rust-cargolambda function in the template")
PY
)
((${#rows[@]})) || die "could not read the functions from template.yaml"

bin_args=()
declare -A seen=()
for row in "${rows[@]}"; do
    bin="${row#*$'\t'}"
    [[ -n "${seen[$bin]:-}" ]] && continue
    seen[$bin]=1
    bin_args+=(--bin "$bin")
done

target_dir="$(cargo metadata --format-version 1 --no-deps --locked | "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
lambda_dir="$target_dir/lambda"
quick_args=()
if [[ "$QUICK" == 1 ]]; then
    quick_args=(--config profile.release.lto=false --config profile.release.codegen-units=16)
    OUT="${PACKAGE_DIR:-$target_dir/package-check}"
else
    OUT="${PACKAGE_DIR:-$ROOT/.aws-sam}"
fi

echo "package: cargo lambda build --release --arm64 --locked ${quick_args[*]} ${bin_args[*]}" >&2
start=$(date +%s)
cargo lambda build --release --arm64 --locked "${quick_args[@]}" "${bin_args[@]}"
build_secs=$(($(date +%s) - start))

rm -rf "$OUT/build" "$OUT/zips"
mkdir -p "$OUT/build" "$OUT/zips"
for row in "${rows[@]}"; do
    logical="${row%%$'\t'*}"
    bin="${row#*$'\t'}"
    src="$lambda_dir/$bin/bootstrap"
    [[ -f "$src" ]] || die "$src missing after the build ($logical)"
    mkdir -p "$OUT/build/$logical"
    cp "$src" "$OUT/build/$logical/bootstrap"
    chmod 0755 "$OUT/build/$logical/bootstrap"
done

# Zips, the built template, the checks and the table.
"$VENV/bin/python" - "$ROOT/template.yaml" "$OUT" "$build_secs" "$TARGET_ZIP_BYTES" "$LAMBDA_ZIP_LIMIT" "${PACKAGE_STRICT:-0}" "$QUICK" "${rows[@]}" <<'PY'
import os, re, sys, zipfile

template, out, build_secs, target, limit, strict, quick = sys.argv[1:8]
target, limit = int(target), int(limit)
rows = [r.split("\t") for r in sys.argv[8:]]
problems, over = [], []

def elf_machine(path):
    with open(path, "rb") as f:
        head = f.read(20)
    if head[:4] != b"\x7fELF" or head[4] != 2:
        return None
    return int.from_bytes(head[18:20], "little")

table = []
for logical, binary in rows:
    boot = os.path.join(out, "build", logical, "bootstrap")
    if elf_machine(boot) != 183:  # EM_AARCH64
        problems.append(f"{logical}: {boot} is not a 64-bit aarch64 ELF")
    zpath = os.path.join(out, "zips", f"{logical}.zip")
    info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = (0o100755 << 16)
    info.create_system = 3  # Unix, so the mode is honoured
    info.compress_type = zipfile.ZIP_DEFLATED
    with open(boot, "rb") as f:
        data = f.read()
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr(info, data, compresslevel=9)
    zsize = os.path.getsize(zpath)
    if zsize > limit:
        problems.append(f"{logical}: zip of {zsize} bytes is over Lambda's 50 MB limit")
    if zsize > target:
        over.append(logical)
    table.append((logical, binary, len(data), zsize))

# .aws-sam/build/template.yaml: the template with each function's CodeUri
# pointing at its build directory, as `sam build` writes it (text edit, so
# the short-form intrinsics stay as they are).
lines = open(template).read().splitlines(keepends=True)
wanted = {logical for logical, _ in rows}
current, done = None, set()
for i, line in enumerate(lines):
    m = re.match(r"^  ([A-Za-z0-9]+):\s*$", line)
    if m:
        current = m.group(1) if m.group(1) in wanted else None
        continue
    if current and current not in done:
        m = re.match(r"^(\s+CodeUri:\s*)\S+(.*)$", line.rstrip("\n"))
        if m:
            lines[i] = f"{m.group(1)}{current}{m.group(2)}\n"
            done.add(current)
missing = wanted - done
if missing:
    problems.append(f"no CodeUri found for {sorted(missing)} in template.yaml")
with open(os.path.join(out, "build", "template.yaml"), "w") as f:
    f.writelines(lines)

mb = lambda n: f"{n / 1e6:.2f} MB"
print()
print(f"arm64 packages in {os.path.relpath(out)} (cargo lambda build: {build_secs} s)")
if quick == "1":
    print("PACKAGE_QUICK=1: built without LTO and with 16 codegen units to check the deploy"
          " build; these sizes are not the deployed ones (make package gives those)")
print()
print("| function | binary | bootstrap | zip | zip ≤ 3.5 MB |")
print("| --- | --- | ---: | ---: | --- |")
for logical, binary, bsize, zsize in table:
    print(f"| {logical} | {binary} | {mb(bsize)} | {mb(zsize)} | {'met' if zsize <= target else 'NOT met'} |")
total = sum(z for *_, z in table)
print(f"| total | | {mb(sum(b for _, _, b, _ in table))} | {mb(total)} | |")
print()
for p in problems:
    print(f"package: error: {p}", file=sys.stderr)
if over:
    print(f"package: {len(over)} zip(s) over the 3.5 MB target: {', '.join(over)}", file=sys.stderr)
if problems or (over and strict == "1" and quick != "1"):
    sys.exit(1)
PY
