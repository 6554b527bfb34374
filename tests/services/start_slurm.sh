#!/usr/bin/env bash
# Start a single-node Slurm cluster on localhost for the `slurm`-marked tests (root, Debian 12).
#
#   tests/services/start_slurm.sh                 # cluster "ci": 2 CPUs, no GPUs (/etc/slurm)
#   tests/services/start_slurm.sh --fake-gpus 2   # cluster "cigpu" beside it: the node offers
#                                                 # 2 fake GPUs (gres on dummy devices)
#   tests/services/start_slurm.sh --clean ...     # forget the old jobs kept in the state folder
#
# Idempotent: installs slurm-wlm if missing, (re)writes the config, (re)starts only daemons that
# are not running with this config, and returns once the node is idle. The two clusters use
# separate ports, configs and state folders; the tests reach the GPU one with
# SLURM_CONF=/etc/slurm-fakegpu/slurm.conf. Stop them with tests/services/stop_slurm.sh.
set -euo pipefail

fake_gpus=0
clean=0
while (($#)); do
    case "$1" in
        --fake-gpus) fake_gpus="$2"; shift 2 ;;
        --clean) clean=1; shift ;;
        *) echo "usage: $0 [--fake-gpus N] [--clean]" >&2; exit 2 ;;
    esac
done

if ((fake_gpus > 0)); then
    cluster=cigpu conf_dir=/etc/slurm-fakegpu state=/tmp/slurm-fakegpu ctld_port=6827 d_port=6828
else
    cluster=ci conf_dir=/etc/slurm state=/tmp/slurm ctld_port=6817 d_port=6818
fi
conf="$conf_dir/slurm.conf"

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    echo "installing slurm-wlm ..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm >/dev/null
fi

# -- munge (authentication between the commands and the daemons) ------------------------------
if [[ ! -s /etc/munge/munge.key ]]; then
    mungekey --create
    chown munge:munge /etc/munge/munge.key
fi
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    install -d -o munge -g munge /run/munge
    runuser -u munge -- /usr/sbin/munged
    for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
fi

# -- configuration -----------------------------------------------------------------------------
hardware=$(slurmd -C | head -1 | grep -o 'CPUs=.*ThreadsPerCore=[0-9]*')
mem_mb=$(awk '/MemTotal/ {printf "%d", $2 / 1024 * 0.85}' /proc/meminfo)
node="NodeName=localhost $hardware RealMemory=$mem_mb NodeAddr=127.0.0.1 State=UNKNOWN"
gres_lines=""
if ((fake_gpus > 0)); then
    node="$node Gres=gpu:$fake_gpus"
    gres_lines="GresTypes=gpu"
fi

mkdir -p "$conf_dir" "$state/log"
new_conf=$(cat <<CONF
# Written by tests/services/start_slurm.sh: a single-node test cluster, not for production.
ClusterName=$cluster
SlurmctldHost=localhost
SlurmctldPort=$ctld_port
SlurmdPort=$d_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AccountingStorageType=accounting_storage/none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
DependencyParameters=kill_invalid_depend
EnforcePartLimits=ALL
AuthInfo=cred_expire=10
MailProg=/bin/true
ReturnToService=2
MinJobAge=3600
KillWait=5
$gres_lines
StateSaveLocation=$state/state
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
$node
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
)
changed=0
if [[ ! -f "$conf" ]] || [[ "$(cat "$conf")" != "$new_conf" ]]; then
    printf '%s\n' "$new_conf" >"$conf"
    changed=1
fi
if ((fake_gpus > 0)); then
    gres_conf="NodeName=localhost Name=gpu File=$state/fakegpu[0-$((fake_gpus - 1))]"
    for ((i = 0; i < fake_gpus; i++)); do
        [[ -c "$state/fakegpu$i" ]] || mknod "$state/fakegpu$i" c 1 3
    done
    if [[ ! -f "$conf_dir/gres.conf" ]] || [[ "$(cat "$conf_dir/gres.conf")" != "$gres_conf" ]]; then
        printf '%s\n' "$gres_conf" >"$conf_dir/gres.conf"
        changed=1
    fi
fi

# -- daemons -----------------------------------------------------------------------------------
running() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
stop() {
    if running "$1"; then
        local pid
        pid=$(cat "$1")
        kill "$pid"
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
}
if ((changed || clean)); then
    stop "$state/slurmd.pid"
    stop "$state/slurmctld.pid"
fi
if ((clean)); then
    rm -rf "$state/state" "$state/spool"
fi
mkdir -p "$state/state" "$state/spool"
export SLURM_CONF="$conf"
running "$state/slurmctld.pid" || /usr/sbin/slurmctld -f "$conf"
running "$state/slurmd.pid" || /usr/sbin/slurmd -f "$conf" -N localhost

# -- wait until the node takes jobs ------------------------------------------------------------
for _ in $(seq 300); do
    node_state=$(sinfo -h -N -o %T 2>/dev/null | head -1 || true)
    case "$node_state" in
        idle | mixed | allocated) break ;;
        drained | draining | down*) scontrol update nodename=localhost state=resume 2>/dev/null || true ;;
    esac
    sleep 0.2
done
if [[ ! "$node_state" =~ ^(idle|mixed|allocated)$ ]]; then
    echo "slurm cluster $cluster did not come up (node state: '${node_state:-none}'); see $state/log/" >&2
    exit 1
fi
sinfo
echo "slurm cluster '$cluster' is up; its commands use SLURM_CONF=$conf"
