#!/usr/bin/env bash
# Builds the robot Debian package: packaging/build-deb.sh [--target TRIPLE]
# [--binary PATH] [--out DIR] [--compress xz|gzip|zstd|none]
#
#   packaging/build-deb.sh                                  # amd64 (the host), release build
#   packaging/build-deb.sh --target aarch64-unknown-linux-gnu  # arm64 for a Pi / Jetson
#   packaging/build-deb.sh --binary target/debug/robot --compress gzip  # package a built binary (CI)
#
# The file list is runtime/Cargo.toml's [package.metadata.deb]. With
# cargo-deb installed (`cargo install cargo-deb --locked`) and no --binary,
# `cargo deb` builds the package; otherwise packaging/deb_from_metadata.py
# builds the same package with dpkg-deb from that table. Prints the .deb's path.
set -euo pipefail
cd "$(dirname "$0")/.."

target=""
binary=""
out=""
compress=xz
while [ $# -gt 0 ]; do
  case "$1" in
    --target) target=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --compress) compress=$2; shift 2 ;;
    -h | --help) sed -n '2,12s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "build-deb.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

target_dir=${CARGO_TARGET_DIR:-target}
out=${out:-$target_dir/debian}
target_args=()
if [ -n "$target" ]; then
  target_args=(--target "$target")
  case "$target" in
    aarch64-*) export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=${CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER:-aarch64-linux-gnu-gcc} ;;
  esac
fi

if [ -z "$binary" ] && cargo deb --version >/dev/null 2>&1; then
  # cargo-deb builds (release profile: LTO, stripped) and packages.
  mkdir -p "$out"
  cargo deb -p robot-runtime --locked "${target_args[@]}" --output "$out" >&2
  ls -t "$out"/robot_*.deb | head -n 1
  exit 0
fi

if [ -z "$binary" ]; then
  # The same features as `cargo deb` builds with (the table's `features`).
  features=$(python3 -c 'import tomllib; m = tomllib.load(open("runtime/Cargo.toml", "rb"))["package"]["metadata"]["deb"]; print(",".join(m.get("features", [])))')
  cargo build --release --locked -p robot-runtime --bin robot --no-default-features --features "$features" \
    "${target_args[@]}" >&2
  binary="$target_dir/${target:+$target/}release/robot"
fi
[ -x "$binary" ] || { echo "build-deb.sh: no binary at $binary" >&2; exit 1; }
python3 packaging/deb_from_metadata.py --manifest runtime/Cargo.toml --binary "$binary" \
  ${target:+--target "$target"} --out "$out" --compress "$compress"
