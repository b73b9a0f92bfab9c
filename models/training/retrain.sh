#!/usr/bin/env bash
# Retrain the brain for a board, end to end, in one command:
#
#   models/training/retrain.sh [--board boards/sim-rover.toml] [--out models/brain] [--minutes 45]
#
# generate data from the board's registry and phrasing templates (seeded) ->
# normalize it with the robot's own normalizer -> align to the output grammar
# -> fine-tune MiniLM + train the pointer decoder (CPU by default, a CUDA GPU
# when one is visible) -> export int8 ONNX + vocab + manifest -> score the new
# brain on a fresh generated test set with `robot eval plan`.
#
# Needs: Rust (cargo), python3 with the packages in models/training/requirements.txt.
# The training budget (--minutes, wall clock) is what bounds the run on a
# 2-core CPU; data generation and preparation add about 3 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."

BOARD=boards/sim-rover.toml
TEMPLATES=models/training/templates/rover.toml
OUT=models/brain
MINUTES=45
EPOCHS=25
N=60000
SEED=1
WORK=${WORK:-target/brain-training}
while [ $# -gt 0 ]; do
  case "$1" in
    --board) BOARD=$2; shift 2 ;;
    --templates) TEMPLATES=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --minutes) MINUTES=$2; shift 2 ;;
    --epochs) EPOCHS=$2; shift 2 ;;
    --n) N=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

step() { printf '\n== %s (%s)\n' "$*" "$(date +%T)"; }
mkdir -p "$WORK"

step "build the normalizer and the robot"
cargo build --release --locked -p robot-models --bin robot-normalize -p robot-runtime --bin robot
BIN=${CARGO_TARGET_DIR:-target}/release
TOKENIZER=$(python3 -c 'import sys; sys.path.insert(0, "models/training/brain"); from model import minilm_dir; print(minilm_dir())')/tokenizer.json

step "generate data (seed $SEED, $N records) and a validation and a test set (other seeds)"
python3 models/training/datagen.py --board "$BOARD" --templates "$TEMPLATES" --seed "$SEED" --n "$N" --out "$WORK/train.jsonl"
python3 models/training/datagen.py --board "$BOARD" --templates "$TEMPLATES" --seed $((SEED + 1000)) --n 2000 --out "$WORK/val.jsonl"
python3 models/training/datagen.py --board "$BOARD" --templates "$TEMPLATES" --seed $((SEED + 2000)) --n 1000 --out "$WORK/test.jsonl"

step "align to the output grammar"
python3 models/training/brain/prepare.py --board "$BOARD" --data "$WORK/train.jsonl" --tokenizer "$TOKENIZER" \
  --normalizer "$BIN/robot-normalize" --out "$WORK/train.json"
python3 models/training/brain/prepare.py --board "$BOARD" --data "$WORK/val.jsonl" --tokenizer "$TOKENIZER" \
  --normalizer "$BIN/robot-normalize" --out "$WORK/val.json" --vocab "$WORK/train.json"

step "train (budget $MINUTES min)"
python3 models/training/brain/train.py --train "$WORK/train.json" --val "$WORK/val.json" --out "$WORK/brain.pt" \
  --minutes "$MINUTES" --epochs "$EPOCHS" --seed "$SEED"

step "export int8 ONNX to $OUT"
python3 models/training/brain/export.py --checkpoint "$WORK/brain.pt" --board "$BOARD" --out "$OUT" \
  --check-data "$WORK/val.json"

step "score on a generated test set"
"$BIN/robot" eval plan "$WORK/test.jsonl" --board "$BOARD" --brain "$OUT" | head -n 30
