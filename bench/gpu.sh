#!/usr/bin/env bash
# Every GPU measurement of bench/ in one go, sized for a GPU lent for a few minutes (each step has a
# time limit; a step that runs out loses only its own results).
#
#   OUT=/tmp/gpu bash bench/gpu.sh [STEP...]   # results: $OUT/results.tar.gz (Markdown, CSV, PNG), $OUT/gpu_log.txt
#
# STEP: checks, profile, dcgan, compile, sweep, grid, digits64 (default: all, in that order).
# PROFILE_SETTINGS / DCGAN_ROWS narrow the profile's settings / bench/dcgan.py's rows (e.g. DCGAN_ROWS="all four").
#
# Steps: checks of the CUDA paths (bench/gpu_checks.py), the DCGAN step profile, bench/dcgan.py (64x64, batches 128 and 1024), bench/sweep.py,
# bench/grid_goal.py (issue 5's goal with larger MLPs) and a full-size DCGAN on 64x64 digits through
# the CLI (the offline stand-in for chapter 8's full profile).
# Python: $PYTHON (default python3) with torch and ganlab's dependencies; ganlab comes from src/.
set -u
out=${OUT:-/tmp/ganlab-gpu}
res=/tmp/ganlab-gpu-results
mkdir -p "$out" "$res"
py=${PYTHON:-python3}
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 TQDM_DISABLE=1 MPLBACKEND=Agg
log=$out/gpu_log.txt

step() {  # step LIMIT_SECONDS COMMAND...: run it under a time limit, log it, pack the results so far
    local limit=$1 t=$SECONDS
    shift
    echo "== $* (limit ${limit} s)" | tee -a "$log"
    timeout "$limit" "$@" >>"$log" 2>&1
    echo "== exit $? after $((SECONDS - t)) s" | tee -a "$log"
    tar czf "$out/results.tar.gz" --exclude='*.pt' -C "$res" .
}

{ nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
  $py -c "import torch, ganlab; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name())"
} 2>&1 | tee "$log"

steps=${*:-checks profile dcgan compile sweep grid digits64}
for s in $steps; do
  case $s in
    checks)
      step 60 $py bench/gpu_checks.py --out "$res/gpu_checks_cuda.md"
      grep '^| ' "$res/gpu_checks_cuda.md" ;;
    profile)
      step 150 $py bench/profile_dcgan.py --device cuda --batches 128 1024 --settings ${PROFILE_SETTINGS:-plain fast graphed compiled} \
          --out "$res/profile_cuda.md"
      grep -A 8 '^| batch' "$res/profile_cuda.md" ;;
    dcgan)  # the eager rows and the CUDA-graph row twice each
      step 150 $py bench/dcgan.py --device cuda --batches 128 1024 --steps 40 --warmup 10 --repeats 2 \
          ${DCGAN_ROWS:+--rows $DCGAN_ROWS} --out "$res/dcgan_cuda.md"
      grep '^| ' "$res/dcgan_cuda.md" ;;
    compile)
      # the compiled rows once each beside the reference and the fastest eager row (each compiles for ~20 s)
      step 170 $py bench/dcgan.py --device cuda --batches 128 1024 --steps 40 --warmup 10 --repeats 1 --compile \
          --rows "all four" "torch.compile" --out "$res/dcgan_cuda_compile.md"
      grep '^| ' "$res/dcgan_cuda_compile.md" ;;
    sweep)
      step 90 $py bench/sweep.py --device cuda --seconds 1 --repeats 2 --out "$res/sweep_cuda.md"
      grep '^| ' "$res/sweep_cuda.md" ;;
    grid)
      step 140 $py bench/grid_goal.py --device cuda --hidden 400 --depth 4 --batch 512 --lrs 1e-3 3e-4 \
          --phases 8000:1 3000:0.1 --seeds 8 --out-dir "$res"
      grep '^| ' "$res/grid_goal_cuda.md" ;;
    digits64)
      step 90 $py -m ganlab train dcgan --data digits --image-size 64 --width 64 --batch-size 128 --steps 6000 \
          --bf16 --channels-last --reuse-fake --cuda-graph --ema 0.999 --sample-every 1000 --eval-every 500 \
          --eval-samples 1000 --no-progress --out "$res/digits64"
      step 20 $py -m ganlab sample --checkpoint "$res/digits64/best.pt" --n 64 --out "$res/digits64/best_ema.png" ;;
    *) echo "unknown step $s (checks, profile, dcgan, compile, sweep, grid, digits64)" | tee -a "$log"; exit 2 ;;
  esac
done
ls -la "$out"
