#!/usr/bin/env bash
# Regenerate slurm/examples/: what `mlrc slurm submit --dry-run` writes for the MLRC protocol on
# CUB with every registered loss and slurm/profiles/example.yaml (the scripts and submit.sh).
# Nothing is submitted, and neither the dataset nor the run directory has to exist.
#
#   slurm/make_example.sh            # uses .venv/bin/python; PYTHON=... to use another
set -euo pipefail
cd "$(dirname "$0")/.."
rm -f slurm/examples/*.sbatch slurm/examples/submit.sh
"${PYTHON:-.venv/bin/python}" -m benchmark.cli slurm submit \
    --protocol mlrc --dataset cub --root /shared/datasets/CUB_200_2011 --losses all \
    --profile slurm/profiles/example.yaml --run-dir /shared/runs/mlrc-cub \
    --scripts-dir slurm/examples --dry-run
