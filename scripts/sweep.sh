#!/usr/bin/env bash
# Train variants of the default MPM recipe side by side, to choose a change before a full retrain:
#
#   bash scripts/sweep.sh OUT [--config YAML] [--device cuda] [--workers N] \
#       NAME='--set KEY=VALUE ...' ...
#
# Each variant is fine-tuned from scratch with the config (training/configs/default.yaml) and its
# own overrides (give each its step count, e.g. --set finetune.steps=4500: a variant that costs
# more CPU per step gets fewer, so the comparison is at an equal CPU budget)
# -> OUT/NAME/model.pt, OUT/NAME.log.
# All run at once; rerun the same command to resume. Then compare them with
#   python -m training.evaluate --checkpoint OUT/NAME/model.pt --bvh ../shared/mocap --split val
# PYTHON picks the interpreter.
set -euo pipefail
out=$1
shift
config=training/configs/default.yaml device=auto workers=1 variants=()
while (($#)); do
    case $1 in
        --config) config=$2; shift ;;
        --device) device=$2; shift ;;
        --workers) workers=$2; shift ;;
        *=*) variants+=("$1") ;;
        *) echo "unknown argument: $1 (variants are NAME='--set KEY=VALUE ...')" >&2; exit 2 ;;
    esac
    shift
done
py=${PYTHON:-python}
mkdir -p "$out"
pids=()
for variant in "${variants[@]}"; do
    name=${variant%%=*}
    read -ra sets <<<"${variant#*=}"
    "$py" -m training.train --config "$config" --stage finetune \
        --out "$out/$name" --resume --device "$device" --workers "$workers" "${sets[@]}" \
        >>"$out/$name.log" 2>&1 &
    pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
for variant in "${variants[@]}"; do tail -n 1 "$out/${variant%%=*}.log"; done
exit $status
