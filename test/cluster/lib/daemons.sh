# shellcheck shell=bash
# Daemons are known by their pid files under $STATE and stopped by them, and each stop is
# verified. Processes left in a node's namespace (slurmstepd, job tasks, ssh sessions) and any
# process whose command line names $STATE (a daemon whose pid file was lost) are swept too.

pid_alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# Waits until PIDFILE names a live process: the daemon forked and wrote it. Shows LOG on failure.
wait_pidfile() {
  local pidfile=$1 what=$2 log=$3 i pid
  for ((i = 0; i < 200; i++)); do
    pid=$(cat "$pidfile" 2>/dev/null || true)
    if pid_alive "$pid"; then return 0; fi
    sleep 0.1
  done
  [[ -f $log ]] && tail -n 20 "$log" >&2
  die "$what did not start (no live pid in $pidfile after 20 s); its log is above and in $log"
}

# TERM, up to 10 s for it to go, then KILL; fails when the process is still there.
stop_pid() {
  local pid=$1 what=$2 i
  pid_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.1
  done
  say "$what (pid $pid) is still alive after SIGKILL"
  return 1
}

stop_pidfile() {
  local pidfile=$1 what=$2 pid
  [[ -f $pidfile ]] || return 0
  pid=$(cat "$pidfile" 2>/dev/null || true)
  # A pid file caught half-written names nothing: the sweeps after it find the daemon.
  if [[ $pid =~ ^[0-9]+$ ]]; then stop_pid "$pid" "$what"; fi
}

# This shell and its ancestors: never swept, whatever their command line says.
own_lineage() {
  local pid=$BASHPID
  while [[ $pid =~ ^[0-9]+$ && $pid -gt 1 ]]; do
    echo "$pid"
    pid=$(awk '/^PPid:/{print $2}' "/proc/$pid/status" 2>/dev/null)
  done
}

# Pids of processes whose command line names the state folder (ours, whatever their pid file says).
state_pids() {
  local dir args lineage
  lineage=" $(own_lineage | tr '\n' ' ') "
  for dir in /proc/[0-9]*; do
    [[ $lineage == *" ${dir#/proc/} "* ]] && continue
    mapfile -d '' args 2>/dev/null <"$dir/cmdline" || continue
    if [[ "${args[*]}" == *"$STATE/"* ]]; then echo "${dir#/proc/}"; fi
  done
}

# Pids of every process in a node's network namespace.
node_pids() { ip netns pids "$1" 2>/dev/null || true; }
