#!/bin/bash
# A darboux ensemble as a Slurm job array: 16 tasks, each integrating 1/16 of 100000 trajectories.
# darboux takes SLURM_ARRAY_TASK_ID as the 1-based shard number, so the array must be 1-N (not 0-(N-1)).
#
#   sbatch docs/slurm-array.sh                  # the 16 shards
#   sbatch --dependency=afterok:<jobid> --wrap 'npx darboux merge runs/hh -o hh.npz'   # then join them
#
# Every task writes runs/hh/part-000II-of-00016.npz and its manifest .json; darboux merge checks the
# checksums, that all parts come from the same run, and that every member is there exactly once.
# Random initial states depend on (seed, member index) only, so the result is the same for any N. The radius
# keeps every member bound (E < 1/6): with --radius 0.1 some escape, and a non-finite member fails its shard
# (add --on-failure report to write such members at their last finite state and list them in the manifest).
#SBATCH --job-name=darboux-hh
#SBATCH --array=1-16
#SBATCH --cpus-per-task=1
#SBATCH --time=00:30:00
#SBATCH --output=logs/darboux-%A_%a.log
set -euo pipefail

npx darboux run --model henon-heiles --method leapfrog --dt 0.05 --steps 100000 \
  --batch 100000 --init random --radius 0.05 --seed 42 --save-every 1000 \
  --shards 16 --out runs/hh
# The same with the shard spelled out: --shard "${SLURM_ARRAY_TASK_ID}/16"
