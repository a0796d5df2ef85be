#!/usr/bin/env bash
# Brings up a real single-node Slurm cluster for the tests: munged, slurmctld and slurmd from
# Debian's packages (slurmctld slurmd slurm-client munge), all state in one folder, free ports,
# this machine's CPUs and memory (slurmd -C), partitions `debug` (the default, no time limit) and
# `short` (1 minute, enforced at submission). Waits until `scontrol ping`
# answers and the node is idle, then writes <folder>/env (`export SLURM_CONF=...`) for tests and
# shells to source. Already up: says so and returns. Stop it with scripts/slurm/down.sh.
# Usage: scripts/slurm/up.sh [state folder]   (default: $WAS_LAB_SLURM_DIR or .slurm/)
# The facts behind each slurm.conf line are in docs/slurm.md.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
dir="$(slurm_state_dir "${1:-}")"
require_root "$0" "$dir"
timeout_s="${WAS_LAB_SLURM_TIMEOUT:-30}"
start=$(date +%s%N)
elapsed_ms() { echo $(( ($(date +%s%N) - start) / 1000000 )); }

for tool in munged mungekey slurmctld slurmd sbatch scontrol sinfo; do
  if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
    echo "slurm: $tool is not installed. On Debian/Ubuntu:" >&2
    echo "slurm:   apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge" >&2
    exit 1
  fi
done
export PATH="$PATH:/usr/sbin"

conf="$dir/slurm.conf"
export SLURM_CONF="$conf"

# Up already (every daemon alive and the controller answering): nothing to do.
if [ -f "$dir/env" ] && pid_alive "$dir/munge/munged.pid" && pid_alive "$dir/run/slurmctld.pid" \
  && pid_alive "$dir/run/slurmd.pid" && scontrol ping 2>/dev/null | grep -q 'is UP'; then
  echo "slurm: already up ($(elapsed_ms) ms); source $dir/env"
  exit 0
fi
# Anything left from a run that died half-way is stopped and cleared: a fresh start each time
# (job ids restart at 1).
stop_cluster "$dir"
find "$dir" -mindepth 1 -delete
mkdir -p "$dir/munge" "$dir/run" "$dir/log" "$dir/state" "$dir/spool"
chmod 0700 "$dir/munge"
chmod 0755 "$dir" "$dir/run"

socket="$dir/run/munge.socket"
if [ ${#socket} -gt 100 ]; then
  echo "slurm: the munge socket path is too long for a Unix socket (${#socket} > 100 characters): $socket" >&2
  echo "slurm: pass a shorter state folder: scripts/slurm/up.sh /tmp/slurm" >&2
  exit 1
fi

# Two TCP ports nobody listens on (from /proc/net/tcp{,6}), for slurmctld and slurmd.
listening() {
  local hex
  for hex in $(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk 'NR > 1 && $4 == "0A" { n = split($2, a, ":"); print a[n] }'); do
    echo $(( 16#$hex ))
  done
}
pick_ports() {
  local used port picked=()
  used=" $(listening | tr '\n' ' ') "
  while [ ${#picked[@]} -lt 2 ]; do
    port=$(( 20000 + RANDOM % 30000 ))
    case "$used ${picked[*]:-} " in *" $port "*) continue ;; esac
    picked+=("$port")
  done
  echo "${picked[@]}"
}
read -r ctld_port slurmd_port < <(pick_ports)

# This machine's CPUs and memory, as slurmd sees them; each CPU gets an equal share of memory by
# default (without DefMemPerCPU a job takes the whole node's memory and array tasks run one at a time).
host="$(hostname -s)"
node_line="$(slurmd -C | head -1)"
cpus="$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$node_line")"
memory="$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$node_line")"
memory=$(( memory * 9 / 10 ))

cat >"$conf" <<CONF
# Written by scripts/slurm/up.sh: a single-node test cluster (docs/slurm.md).
ClusterName=waslab
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$(( memory / cpus ))
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/jobcomp.txt
MinJobAge=3600
ReturnToService=2
MailProg=/bin/true
SchedulerParameters=sched_interval=1
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
# A partition with a limit, refused at submission as many sites do (EnforcePartLimits).
EnforcePartLimits=ALL
PartitionName=short Nodes=$host MaxTime=1 State=UP
CONF
chmod 0644 "$conf"

tail_logs() {
  local log
  for log in "$dir/munge/munged.log" "$dir/log/slurmctld.log" "$dir/log/slurmd.log"; do
    if [ -f "$log" ]; then echo "--- last lines of $log" >&2; tail -n 15 "$log" >&2; fi
  done
}
fail() { echo "slurm: $*" >&2; tail_logs; stop_cluster "$dir"; exit 1; }

mungekey --create --keyfile="$dir/munge/munge.key" >/dev/null
munged --socket="$socket" --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" \
  --seed-file="$dir/munge/munged.seed" --key-file="$dir/munge/munge.key" || fail "munged did not start"
munge -S "$socket" -n | unmunge -S "$socket" >/dev/null || fail "munge does not answer on $socket"

slurmctld -f "$conf" -c || fail "slurmctld did not start"
slurmd -f "$conf" -N "$host" || fail "slurmd did not start"

# A daemon that fails still exits 0 (it forked first): wait for the controller and the node.
deadline=$(( $(date +%s) + timeout_s ))
until scontrol ping 2>/dev/null | grep -q 'is UP' && [ "$(sinfo -h -p debug -o %T 2>/dev/null)" = idle ]; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "not up after ${timeout_s} s: scontrol ping: $(scontrol ping 2>&1 | head -1); node: $(sinfo -h -p debug -o %T 2>&1 | head -1)"
  sleep 0.1
done

cat >"$dir/env" <<ENV
# Source this file to use the test cluster (scripts/slurm/up.sh; scripts/slurm/down.sh stops it).
export SLURM_CONF=$conf
ENV
chmod 0644 "$dir/env"
echo "slurm: up in $(elapsed_ms) ms: node $host, $cpus CPUs, $memory MB, partitions debug (default) and short (1 minute), ports $ctld_port/$slurmd_port"
echo "slurm: source $dir/env   (SLURM_CONF=$conf)"
