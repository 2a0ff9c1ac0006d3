#!/usr/bin/env bash
# A real Slurm cluster on this one machine, for the multi-node tests (test/cluster/README.md).
#
#   cluster.sh up              set up: bridge, namespaces, munged, slurmctld, one slurmd per node
#   cluster.sh sshd            start an sshd on every node (cluster key only; see lib/sshd.sh)
#   cluster.sh check           sinfo idle, srun on every node, TCP from every node to the bridge
#   cluster.sh down            tear everything down (idempotent; safe when nothing is up)
#   cluster.sh leftovers       list what a teardown left (exit 1 when anything)
#   cluster.sh exec NODE CMD.. run a command on a node
#   cluster.sh link NODE up|down
#   cluster.sh slurmd NODE     start the node's slurmd again (after a test killed it)
#   cluster.sh ps [NODE]       our processes, per node
#   cluster.sh env             the exports that point Slurm and ssh at this cluster
# Settings: GPO_CLUSTER_DIR, GPO_CLUSTER_NODES, GPO_CLUSTER_CPUS, GPO_CLUSTER_SUBNET,
# GPO_CLUSTER_SLURMD_TIMEOUT (lib/config.sh).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for lib in config preflight daemons network nodes slurm sshd check; do
  # shellcheck source=/dev/null
  source "$HERE/lib/$lib.sh"
done

# up and down change machine-wide things (ports, bridge, namespace names): one at a time.
# npm run test:cluster holds the lock for its whole run and says so with GPO_CLUSTER_LOCK_HELD.
with_lock() {
  if [[ ${GPO_CLUSTER_LOCK_HELD:-} == 1 ]]; then
    "$@"
    return
  fi
  exec 9>"$LOCK_FILE"
  flock -n 9 || die "another gpo-cluster set-up, teardown or test run holds $LOCK_FILE; wait for it to end"
  "$@"
}

cluster_up() {
  [[ ! -e $STATE && -z $(network_leftovers) ]] ||
    die "a cluster is up or left over ($STATE, or $(network_leftovers | head -n1)); run test/cluster/cluster.sh down first"
  install -d -m 0755 "$STATE"
  # A failed set-up leaves nothing: its logs are shown, then everything is torn down.
  trap 'up_failed' EXIT
  preflight
  network_up
  uts_up
  munge_up
  slurm_conf_write
  slurmctld_up
  local node
  for node in $(node_names); do slurmd_up "$node"; done
  wait_nodes_idle
  describe_cluster >"$STATE/cluster.json"
  trap - EXIT
  say "up: $(node_names | tr '\n' ' ')on $BRIDGE ($BRIDGE_ADDR/24), state in $STATE"
}

up_failed() {
  local log
  for log in "$STATE"/munge/munged.log "$STATE"/slurm/ctld/slurmctld.log "$STATE"/nodes/*/slurmd.log; do
    [[ -s $log ]] || continue
    say "last lines of $log:"
    tail -n 15 "$log" >&2
  done
  if [[ ${GPO_CLUSTER_KEEP:-} == 1 ]]; then
    say "set-up failed; GPO_CLUSTER_KEEP=1 keeps what it made, logs included, in $STATE: look, then run cluster.sh down"
    return
  fi
  say "set-up failed: tearing down what it made (GPO_CLUSTER_KEEP=1 keeps it, to debug)"
  cluster_down || true
}

cluster_down() {
  local pid ok=0
  sshd_down || ok=1
  slurm_down || ok=1
  nodes_kill_all || ok=1
  for pid in $(state_pids); do stop_pid "$pid" "process $pid (its command line names $STATE)" || ok=1; done
  uts_down
  network_down
  if [[ -e $STATE ]]; then rm -rf "$STATE" || say "could not remove all of $STATE"; fi
  local left
  left=$(cluster_leftovers)
  if [[ -n $left ]]; then
    say "teardown left: $(tr '\n' ';' <<<"$left")"
    return 1
  fi
  return $ok
}

cluster_leftovers() {
  network_leftovers
  local pid
  for pid in $(state_pids); do echo "process $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"; done
  [[ ! -e $STATE ]] || echo "folder $STATE"
}

# The cluster as the TypeScript helpers (test/cluster/cluster.ts) read it.
describe_cluster() {
  local node nodes=()
  for node in $(node_names); do
    nodes+=("{\"name\":\"$node\",\"address\":\"$(node_addr "$node")\",\"netns\":\"$(node_netns "$node")\",\"uts\":\"$(node_uts "$node")\",\"link\":\"$(node_veth_host "$node")\"}")
  done
  local joined
  joined=$(IFS=,; echo "${nodes[*]}")
  cat <<JSON
{"dir":"$STATE","bridge":"$BRIDGE","bridgeAddress":"$BRIDGE_ADDR","cpusPerNode":$GPO_CLUSTER_CPUS,
 "slurmConf":"$SLURM_CONF","slurmdTimeout":$GPO_CLUSTER_SLURMD_TIMEOUT,"sshConfig":"$SSH_CONFIG","binDir":"$STATE/bin",
 "nodes":[$joined]}
JSON
}

command=${1:-}
[[ $# -gt 0 ]] && shift
validate_config
if [[ $command != env && $command != ps && $EUID -ne 0 ]]; then
  die "cluster.sh $command needs root (namespaces, a bridge, /etc/hosts, daemons): run it as root"
fi
case $command in
  up) with_lock cluster_up ;;
  down) with_lock cluster_down ;;
  sshd) sshd_up ;;
  check) check_cluster ;;
  leftovers)
    left=$(cluster_leftovers)
    if [[ -n $left ]]; then
      echo "$left"
      exit 1
    fi
    ;;
  exec) [[ $# -ge 2 ]] || die "usage: cluster.sh exec NODE COMMAND [ARGS...]"; node_enter "$@" ;;
  link) [[ $# -eq 2 ]] || die "usage: cluster.sh link NODE up|down"; node_link "$1" "$2" ;;
  slurmd) [[ $# -eq 1 ]] || die "usage: cluster.sh slurmd NODE"; slurmd_up "$1" ;;
  ps) for node in ${1:-$(our_netns)}; do node_ps "$node" | sed "s/^/$node /"; done ;;
  env) echo "export SLURM_CONF=$SLURM_CONF PATH=$STATE/bin:\$PATH" ;;
  *) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
