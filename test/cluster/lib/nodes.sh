# shellcheck shell=bash disable=SC2153
# A node is a network namespace (its address) plus a UTS namespace (its hostname), both kept
# alive by bind mounts; everything started "on" a node is entered into both.

uts_up() {
  install -d -m 0755 "$STATE/ns"
  local node file
  for node in $(node_names); do
    file=$(node_uts "$node")
    : >"$file"
    unshare --uts="$file" hostname "$node"
  done
}

uts_down() {
  local file
  for file in "$STATE"/ns/*.uts; do
    [[ -e $file ]] || continue
    if findmnt -n "$file" >/dev/null 2>&1; then umount "$file" || say "could not unmount $file"; fi
  done
}

node_exists() { [[ -e $(node_netns "$1") && -e $(node_uts "$1") ]]; }

# Runs a command on a node (its address, its hostname; the same filesystem and pids as the machine).
node_enter() {
  local node=$1
  shift
  node_exists "$node" || die "no node $node (is the cluster up? test/cluster/cluster.sh up)"
  nsenter --net="$(node_netns "$node")" --uts="$(node_uts "$node")" -- "$@"
}

# Cuts a node off the bridge (or reconnects it), as a failed link would: its processes live on.
node_link() {
  local node=$1 state=$2
  [[ $state == up || $state == down ]] || die "link state '$state': give up or down"
  node_exists "$node" || die "no node $node (is the cluster up? test/cluster/cluster.sh up)"
  ip link set "$(node_veth_host "$node")" "$state"
}

# One line per process on the node: pid and command line.
node_ps() {
  local pid
  for pid in $(node_pids "$1"); do
    printf '%s %s\n' "$pid" "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
  done
}

# Ends every process on our nodes (job tasks and slurmstepd outlive a killed slurmd).
nodes_kill_all() {
  local ns pid ok=0
  for ns in $(our_netns); do
    for pid in $(node_pids "$ns"); do kill -KILL "$pid" 2>/dev/null || true; done
    for pid in $(node_pids "$ns"); do stop_pid "$pid" "process $pid on $ns" || ok=1; done
  done
  return $ok
}
