# Shared by up.sh and down.sh (sourced, not run): the state folder, the root check, and stopping a
# daemon by its pid file. See docs/slurm.md.

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# The state folder: $1 when given, else $WAS_LAB_SLURM_DIR, else .slurm/ in the repository
# (gitignored). Made absolute: slurm.conf names its paths absolutely.
slurm_state_dir() {
  local dir="${1:-${WAS_LAB_SLURM_DIR:-$repo_root/.slurm}}"
  mkdir -p "$dir" && (cd "$dir" && pwd)
}

# The daemons run as root (slurmd starts each job as its submitter). Re-run this script (its
# arguments: the script, then the state folder) under sudo when that works without a password;
# otherwise say what is needed and stop.
require_root() {
  [ "$(id -u)" -eq 0 ] && return 0
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    exec sudo -n env "WAS_LAB_SLURM_TIMEOUT=${WAS_LAB_SLURM_TIMEOUT:-30}" "$@"
  fi
  echo "slurm: the test cluster's daemons (munged, slurmctld, slurmd) must run as root, and this" >&2
  echo "slurm: user is not root and has no password-less sudo. Run: sudo $*" >&2
  exit 1
}

# True when the pid in file $1 is a live process (a zombie counts as dead: they are reaped late
# in some containers).
pid_alive() {
  local pid
  pid="$(cat "$1" 2>/dev/null)" || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/status" ] || return 1
  ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null
}

# Stop the daemon whose pid file is $1: SIGTERM, up to 5 s, then SIGKILL.
stop_pid_file() {
  local file="$1" pid i
  [ -f "$file" ] || return 0
  pid="$(cat "$file" 2>/dev/null)"
  if pid_alive "$file"; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 50); do pid_alive "$file" || break; sleep 0.1; done
    if pid_alive "$file"; then kill -KILL "$pid" 2>/dev/null || true; sleep 0.1; fi
  fi
  rm -f "$file"
}

# Cancel every job, wait (up to 10 s) for their steps to end, then stop the daemons and munge.
stop_cluster() {
  local dir="$1" i
  if [ -f "$dir/slurm.conf" ] && pid_alive "$dir/run/slurmctld.pid"; then
    export SLURM_CONF="$dir/slurm.conf"
    local jobs
    jobs="$(squeue -h -o %A 2>/dev/null | sort -u)" || true
    # shellcheck disable=SC2086
    [ -n "$jobs" ] && scancel --quiet $jobs 2>/dev/null || true
    for i in $(seq 100); do
      [ -z "$(squeue -h -t RUNNING,COMPLETING,PENDING -o %i 2>/dev/null)" ] && break
      sleep 0.1
    done
  fi
  stop_pid_file "$dir/run/slurmd.pid"
  stop_pid_file "$dir/run/slurmctld.pid"
  stop_pid_file "$dir/munge/munged.pid"
}
