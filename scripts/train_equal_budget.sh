#!/usr/bin/env bash
# Train the four benchmark models at the same wall-clock budget, as issue 3's comparison asks:
#   mpm       pre-training (half the budget, or --pretrain-share of it) then fine-tuning the rest
#                                                                               -> OUT/mpm/model.pt
#   scratch   MPM fine-tuned from random weights for the whole budget            -> OUT/scratch/model.pt
#   tcn, mlp  the baselines for the whole budget                                  -> OUT/{tcn,mlp}/model.pt
#
#   bash scripts/train_equal_budget.sh MINUTES OUT [--parallel] [--device cuda] [--workers N]
#                                      [--models mpm,scratch,tcn,mlp] [--pretrain-share 0.5]
#                                      [--set KEY=VALUE ...]
#                                      (overrides apply to every run)
#
# --parallel runs the four at once (one GPU, or the CPU's cores, shared by all: each gets the same
# wall clock; on the CPU each process gets one thread); without it they run one after another.
# Interrupted? Run the same command again: every run resumes from OUT/NAME/last.pt with its clock
# and schedule where they were, and a finished one is left as it is.
# PYTHON picks the interpreter.
set -euo pipefail
minutes=$1 out=$2
shift 2
parallel=0 device=auto workers=1 models=mpm,scratch,tcn,mlp share=0.5 sets=()
while (($#)); do
    case $1 in
        --parallel) parallel=1 ;;
        --device) device=$2; shift ;;
        --workers) workers=$2; shift ;;
        --models) models=$2; shift ;;
        --pretrain-share) share=$2; shift ;;
        --set) sets+=(--set "$2"); shift ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
py=${PYTHON:-python}
if ((parallel)) && [[ $device != cuda ]]; then
    # the processes share the CPU cores: one thread each, so none waits on another's threads
    export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
fi
if ! awk "BEGIN {exit !($share > 0 && $share < 1)}"; then  # 0 is `scratch`; a 0-minute stage would train by steps
    echo "--pretrain-share must be above 0 and below 1, got $share" >&2; exit 2
fi
pre=$(awk "BEGIN {print $minutes * $share}") post=$(awk "BEGIN {print $minutes * (1 - $share)}")
mkdir -p "$out"
run() {  # run NAME CONFIG STAGE MINUTES [extra args]: one stage, logged to OUT/NAME.log
    local name=$1 config=$2 stage=$3 budget=$4
    shift 4
    "$py" -m training.train --config "$config" --stage "$stage" --out "$out/$name" \
        --resume --device "$device" --workers "$workers" --set "$stage.steps=1000000" \
        --set "$stage.minutes=$budget" "${sets[@]}" "$@" >>"$out/$name.log" 2>&1
}
mpm() {
    run mpm_pretrain training/configs/default.yaml pretrain "$pre" &&
        run mpm training/configs/default.yaml finetune "$post" --init "$out/mpm_pretrain/model.pt"
}
declare -A jobs_=(
    [mpm]="mpm"
    [scratch]="run scratch training/configs/default.yaml finetune $minutes"
    [tcn]="run tcn training/configs/baseline_tcn.yaml finetune $minutes"
    [mlp]="run mlp training/configs/baseline_martinez_mlp.yaml finetune $minutes"
)
IFS=, read -ra chosen <<<"$models"
pids=()
for name in "${chosen[@]}"; do
    job=${jobs_[$name]:?unknown model $name (mpm, scratch, tcn, mlp)}
    if ((parallel)); then
        $job &
        pids+=($!)
    else
        $job
    fi
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
for name in "${chosen[@]}"; do tail -n 1 "$out/$name.log"; done
exit $status
