#!/usr/bin/env bash
# Stop the test Slurm clusters started by tests/services/start_slurm.sh (both, when running).
# Their state folders (/tmp/slurm, /tmp/slurm-fakegpu) are kept: start_slurm.sh --clean wipes them.
# munged is left running (other tools may use it); stop it by the PID in /run/munge/munged.pid.
set -uo pipefail
for state in /tmp/slurm /tmp/slurm-fakegpu; do
    for daemon in slurmd slurmctld; do
        pidfile="$state/$daemon.pid"
        [[ -f "$pidfile" ]] || continue
        pid=$(cat "$pidfile")
        if kill "$pid" 2>/dev/null; then
            for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            echo "stopped $daemon ($state)"
        fi
    done
done
