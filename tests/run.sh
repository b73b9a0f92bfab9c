#!/usr/bin/env bash
# The project's test command (README.md, .ci/run): installs what the tests
# need on a fresh Debian/Ubuntu machine, then runs every check CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "toolchain components"
if command -v rustup >/dev/null 2>&1; then
  rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
fi

step "test dependencies (Mosquitto broker for the MQTT sync tests)"
if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends mosquitto
fi
# ALSA headers for the microphone of `robot listen` (cpal, runtime feature `mic`).
if ! pkg-config --exists alsa 2>/dev/null; then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends libasound2-dev pkg-config
fi
# The broker-outage fault test holds the broker down this long (the issue's 30 s).
export ROBOT_SYNC_OUTAGE_S=30

step "format"
cargo fmt --all -- --check

step "lint"
cargo clippy --workspace --all-targets --locked -- -D warnings
# The live microphone (cpal on ALSA) is an opt-in feature; keep it compiling.
cargo clippy -p robot-runtime --features mic --locked -- -D warnings

step "unit and integration tests"
cargo test --workspace --locked

step "aarch64 build, tests under qemu (cortex-a72 Pi 4, cortex-a76 Pi 5/Orin)"
bash tests/aarch64.sh

step "board files"
for b in boards/*.toml; do
  cargo run --quiet --locked -p robot-runtime --bin robot -- check-board "$b"
done

step "Debian package: built from the binaries above, checked unpacked (never installed here)"
target_dir=${CARGO_TARGET_DIR:-target}
deb=$(bash packaging/build-deb.sh --binary "$target_dir/debug/robot" --compress gzip --out "$target_dir/debian-ci")
bash packaging/check-deb.sh "$deb"
# The arm64 package from the binary tests/aarch64.sh built, its board checks run under qemu.
arm_robot="$target_dir/aarch64-unknown-linux-gnu/debug/robot"
if [ -x "$arm_robot" ]; then
  deb=$(bash packaging/build-deb.sh --target aarch64-unknown-linux-gnu --binary "$arm_robot" --compress gzip \
    --out "$target_dir/debian-ci")
  bash packaging/check-deb.sh "$deb" "$(command -v qemu-aarch64-static || command -v qemu-aarch64)" -L /usr/aarch64-linux-gnu
fi

step "brain training-data generator (python3, standard library only)"
PYTHONDONTWRITEBYTECODE=1 python3 -m unittest discover -s models/training -p 'test_*.py'
step "speech training texts: written commands to spoken words (python3, standard library only)"
PYTHONDONTWRITEBYTECODE=1 python3 models/training/voice/spoken.py --selftest

step "brain: plan a command, and score the dev set when it is checked out beside the repo"
cargo run --quiet --locked -p robot-runtime --bin robot -- plan --json "drive forward two meters then turn right" |
  grep -q '"program":"drive(distance_m=2); turn(angle_deg=-90)"'
if [ -f ../shared/eval/plan-dev.jsonl ]; then
  cargo run --quiet --locked -p robot-runtime --bin robot -- eval plan ../shared/eval/plan-dev.jsonl --min-accuracy 97 |
    head -n 12
fi

step "smoke: a 1 m square in the simulator"
cargo run --quiet --locked -p robot-runtime --bin robot -- exec --level L4 --json \
  "repeat(4) { drive(distance_m=1); turn(angle_deg=90) }" | tail -n 1 | grep -q '"status":"done"'
echo "ok"
