#!/usr/bin/env bash
# Checks a robot .deb without installing it on this machine (CI, tests/run.sh):
# packaging/check-deb.sh ROBOT.deb [RUNNER...]
#
# Lists it (dpkg-deb -c / -I) for the binary, models, board files, unit,
# conffile and maintainer scripts; verifies the unit with systemd-analyze
# when there is one; unpacks it into a throwaway root (dpkg-deb -x) and there
# picks boards with robot-select-board from fake device-tree models, runs
# `robot check-board` on the linked board file, and plans with the packaged
# brain. RUNNER (e.g. `qemu-aarch64-static -L /usr/aarch64-linux-gnu`) runs
# a binary of another architecture; the brain check is then skipped (slow).
set -euo pipefail
deb=$1
shift
runner=("$@")

fail() { echo "check-deb: $*" >&2; exit 1; }
has() { grep -qE "$2" <<<"$1" || fail "$3"; }

contents=$(dpkg-deb -c "$deb")
for f in usr/bin/robot usr/sbin/robot-select-board lib/systemd/system/robot.service etc/robot/robot.env \
  usr/share/robot/boards/sim-rover.toml usr/share/robot/boards/rpi4-rover.toml \
  usr/share/robot/boards/rpi5-rover.toml usr/share/robot/boards/jetson-orin-nano-rover.toml \
  usr/share/doc/robot/copyright; do
  has "$contents" " \./$f\$" "$deb lacks /$f"
done
for f in $(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["files"]))' models/brain/manifest.json); do
  has "$contents" " \./usr/share/robot/models/brain/$f\$" "$deb lacks the brain's $f"
done
has "$contents" " \./usr/share/robot/models/brain/manifest.json\$" "$deb lacks the brain's manifest"

info=$(dpkg-deb -I "$deb")
for s in postinst prerm postrm config templates conffiles md5sums; do
  has "$info" "^ +[0-9]+ bytes, +[0-9]+ lines +\*? *$s( |\$)" "$deb lacks the control file $s"
done
has "$info" "^ Package: robot\$" "the package is not named robot"
has "$info" "^ Depends: .*adduser" "the package does not depend on adduser"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
dpkg-deb -x "$deb" "$root"
dpkg-deb -e "$deb" "$root/DEBIAN"
grep -qx /etc/robot/robot.env "$root/DEBIAN/conffiles" || fail "/etc/robot/robot.env is not a conffile"
for s in postinst prerm postrm config; do
  [ -x "$root/DEBIAN/$s" ] || fail "$s is not executable"
  sh -n "$root/DEBIAN/$s" || fail "$s: shell syntax"
done
unit="$root/lib/systemd/system/robot.service"
for want in '^Type=notify$' '^WatchdogSec=' '^Restart=on-failure$' '^User=robot$' '^StandardOutput=journal$' \
  '^ExecStart=/usr/bin/robot run --board /etc/robot/board.toml'; do
  grep -qE "$want" "$unit" || fail "the unit lacks $want"
done
if command -v systemd-analyze >/dev/null 2>&1; then
  # The unit's ExecStart= pointed into the unpacked package (verify checks
  # the binary exists); any output, even an "unknown key" warning, fails.
  mkdir -p "$root/verify"
  sed "s#/usr/bin/robot#$root/usr/bin/robot#" "$unit" >"$root/verify/robot.service"
  out=$(systemd-analyze verify "$root/verify/robot.service" 2>&1) || fail "systemd-analyze verify: $out"
  [ -z "$out" ] || fail "systemd-analyze verify: $out"
  echo "check-deb: systemd-analyze verify ok"
else
  echo "check-deb: no systemd-analyze here; unit checked by grep only"
fi

robot=("${runner[@]}" "$root/usr/bin/robot")
select_board() { ROBOT_ROOT="$root" ROBOT_DEVICE_TREE_MODEL="$root/model" "$root/usr/sbin/robot-select-board" "$@"; }
for case in "Raspberry Pi 4 Model B Rev 1.5:rpi4-rover" "Raspberry Pi 5 Model B Rev 1.0:rpi5-rover" \
  "NVIDIA Jetson Orin Nano Developer Kit:jetson-orin-nano-rover"; do
  printf '%s\0' "${case%%:*}" >"$root/model"
  select_board auto >/dev/null
  link=$(readlink "$root/etc/robot/board.toml")
  [ "$link" = "/usr/share/robot/boards/${case##*:}.toml" ] || fail "${case%%:*}: linked $link"
  "${robot[@]}" check-board "$root$link" >/dev/null || fail "check-board $link"
done
printf 'Some Other Board\0' >"$root/model"
if msg=$(select_board auto 2>&1); then fail "an unknown board was accepted"; fi
grep -q "not a board the robot package knows" <<<"$msg" || fail "unclear message for an unknown board: $msg"
select_board sim-rover >/dev/null
"${robot[@]}" check-board "$root$(readlink "$root/etc/robot/board.toml")" >/dev/null || fail "check-board sim-rover"

if [ ${#runner[@]} -eq 0 ]; then
  # The packaged brain, found through ROBOT_MODELS as the service would find /usr/share/robot/models.
  (cd "$root" && ROBOT_MODELS="$root/usr/share/robot/models" "${robot[@]}" plan --json \
    --board "$root/usr/share/robot/boards/sim-rover.toml" "drive forward two meters") |
    grep -q '"program":"drive(distance_m=2)"' || fail "the packaged brain did not plan"
fi
echo "check-deb: $deb ok ($(du -h "$deb" | cut -f1), $(dpkg-deb -f "$deb" Architecture))"
