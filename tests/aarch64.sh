#!/usr/bin/env bash
# The aarch64 check: cross-builds the workspace's tests for
# aarch64-unknown-linux-gnu once, then runs the unit and integration tests
# under qemu user-mode emulation twice: as a Raspberry Pi 4 (cortex-a72, no
# dot-product instructions) and as a Raspberry Pi 5 / Jetson Orin class core
# (cortex-a76, with dotprod), so both run-time kernel selections are exercised.
#
# The linker and runner are passed as environment variables for this script
# only, so a plain `cargo test` on a desktop stays native. Installs what it
# needs (rustup target, Debian cross linker, arm64 libc, qemu) only if missing.
#
# Doc tests are left to the native run in tests/run.sh: they are the same code
# on every architecture and rustdoc would recompile them for each CPU model.
# Python unit tests are likewise native only (tests/run.sh).
#
# Tests that start other built binaries (runtime/tests/cli.rs) find the qemu
# command line in ROBOT_TEST_RUNNER: without binfmt_misc the kernel cannot
# exec an aarch64 ELF by itself.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=aarch64-unknown-linux-gnu
SYSROOT=/usr/aarch64-linux-gnu
CPUS=(cortex-a72 cortex-a76)

step() { printf '\n== %s\n' "$*"; }

step "aarch64 toolchain"
if command -v rustup >/dev/null 2>&1; then
  rustup target list --installed 2>/dev/null | grep -qx "$TARGET" || rustup target add "$TARGET"
fi
missing=()
command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || missing+=(gcc-aarch64-linux-gnu)
[ -e "$SYSROOT/lib/libc.so.6" ] || missing+=(libc6-dev-arm64-cross)
command -v qemu-aarch64-static >/dev/null 2>&1 || command -v qemu-aarch64 >/dev/null 2>&1 ||
  missing+=(qemu-user-static)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
QEMU=$(command -v qemu-aarch64-static || command -v qemu-aarch64)

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
# Tests with timing or process-spawning behaviour that differs under
# emulation check this; each says why where it reads it.
export ROBOT_UNDER_QEMU=1
# The native run holds the broker down for the issue's 30 s; under emulation
# the same logic is exercised with a shorter outage.
export ROBOT_SYNC_OUTAGE_S=5

# Unit tests (lib, bins) and integration tests; no doc tests (see above).
test_args=(--workspace --locked --target "$TARGET" --lib --bins --tests)

step "build tests for $TARGET"
cargo test "${test_args[@]}" --no-run

for cpu in "${CPUS[@]}"; do
  step "tests under qemu -cpu $cpu"
  runner="$QEMU -L $SYSROOT -cpu $cpu"
  export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="$runner"
  export ROBOT_TEST_RUNNER="$runner"
  # Same flags as the build above: cargo reuses it (the runner is not part
  # of the build fingerprint).
  cargo test "${test_args[@]}" --no-fail-fast
done
echo "aarch64 ok"
