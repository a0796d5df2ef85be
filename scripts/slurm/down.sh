#!/usr/bin/env bash
# Stops the single-node test cluster that up.sh started in a state folder and deletes the folder:
# jobs cancelled first, then slurmd, slurmctld and munged by their pid files.
# Usage: scripts/slurm/down.sh [state folder]   (default: $WAS_LAB_SLURM_DIR or .slurm/)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
dir="$(slurm_state_dir "${1:-}")"
require_root "$0" "$dir"
start=$(date +%s%N)
stop_cluster "$dir"
rm -rf "$dir"
echo "slurm: down in $(( ($(date +%s%N) - start) / 1000000 )) ms; removed $dir"
