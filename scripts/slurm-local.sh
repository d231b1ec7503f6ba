#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for CI and for trying the
# experiment's job-array path without a real cluster.
#
#   bash scripts/slurm-local.sh start DIR   # munged + slurmctld + slurmd, config in DIR
#   bash scripts/slurm-local.sh stop DIR
#
# Needs Debian's slurm-wlm and munge (`apt-get install slurm-wlm munge`) and
# root (the daemons run as root here; a real cluster runs them as the slurm
# user). Everything the cluster writes (config, state, spool, logs, pid files)
# lives under DIR, so nothing in /etc changes except the munge key the
# munge package generated on install. After `start`, use the cluster with
# `SLURM_CONF=DIR/slurm.conf` set (the script prints it).
set -euo pipefail

usage() {
    echo "usage: $0 start|stop DIR" >&2
    exit 2
}
[ $# -eq 2 ] || usage
cmd="$1"
dir="$(mkdir -p "$2" && cd "$2" && pwd)"
conf="$dir/slurm.conf"
export SLURM_CONF="$conf"

stop() {
    for d in slurmd slurmctld munged; do
        if [ -f "$dir/$d.pid" ]; then
            pid="$(cat "$dir/$d.pid")"
            kill "$pid" 2>/dev/null || true
            # Wait until it is gone (or a zombie), so a restart can bind
            # its port again.
            for _ in $(seq 1 50); do
                st="$(ps -o stat= -p "$pid" 2>/dev/null || true)"
                [ -z "$st" ] || [ "${st#Z}" != "$st" ] && break
                sleep 0.2
            done
            rm -f "$dir/$d.pid"
        fi
    done
    if [ -f "$dir/munge.dir" ]; then
        rm -rf "$(cat "$dir/munge.dir")" "$dir/munge.dir"
    fi
}

case "$cmd" in
stop)
    stop
    exit 0
    ;;
start) ;;
*) usage ;;
esac

for tool in munged slurmctld slurmd sinfo; do
    command -v "$tool" >/dev/null || {
        echo "$tool not found: apt-get install slurm-wlm munge" >&2
        exit 2
    }
done
stop

host="$(hostname -s)"
cpus="$(nproc)"
# Memory in MiB as slurmd counts it, less a little, so the node registers.
mem=$(($(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo) - 256))
mkdir -p "$dir/state" "$dir/spool"

# munge: the key the Debian package generated, a socket of our own. munged
# runs as the munge user, which may not reach DIR (under /root, say), so its
# files live in a folder of its own under /tmp (a short path, too: a socket
# path has a 108-byte limit).
[ -f /etc/munge/munge.key ] || { echo "/etc/munge/munge.key missing (reinstall munge)" >&2; exit 2; }
mdir="$(mktemp -d /tmp/sonomask-munge.XXXXXX)"
echo "$mdir" > "$dir/munge.dir"
chown munge:munge "$mdir"
chmod 0755 "$mdir"
runuser -u munge -- munged --socket="$mdir/munge.socket" \
    --pid-file="$mdir/munged.pid" --log-file="$mdir/munged.log" \
    --seed-file="$mdir/munged.seed"
cp "$mdir/munged.pid" "$dir/munged.pid"

# The smallest configuration that schedules: one node with this machine's
# CPUs and memory, one partition, no accounting, no cgroups (containers often
# have none to delegate).
cat > "$conf" <<EOF
ClusterName=sonomask-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$mdir/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MpiDefault=none
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF

slurmctld -f "$conf"
slurmd -f "$conf"

# Wait until the node is idle (slurmd registered with slurmctld).
for _ in $(seq 1 60); do
    state="$(sinfo -h -N -o '%T' 2>/dev/null | head -n1 || true)"
    case "$state" in
    idle*|mixed*|allocated*)
        echo "slurm: node $host $state ($cpus CPUs, $mem MiB); export SLURM_CONF=$conf"
        exit 0
        ;;
    esac
    sleep 1
done
echo "slurm: node $host did not come up (state: ${state:-none}); logs:" >&2
tail -n 20 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
exit 1
