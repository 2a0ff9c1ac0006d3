# shellcheck shell=bash disable=SC2034
# The cluster's settings (each overridable from the environment) and the names derived from them.
# Sourced by cluster.sh; every other lib/*.sh reads only these variables.

# All state (configs, keys, spool, logs, pid files) lives under this one folder, so that
# teardown is `rm -rf` of it once the daemons are gone.
GPO_CLUSTER_DIR=${GPO_CLUSTER_DIR:-/tmp/gpo-cluster}
# Number of nodes (network namespaces, each with one slurmd): 2 or 3.
GPO_CLUSTER_NODES=${GPO_CLUSTER_NODES:-2}
# CPUs each node declares to Slurm (config_overrides lets it exceed the real ones).
GPO_CLUSTER_CPUS=${GPO_CLUSTER_CPUS:-2}
# The private /24 of the bridge: the bridge is .1, node i is .(10+i).
GPO_CLUSTER_SUBNET=${GPO_CLUSTER_SUBNET:-10.201.0}
# Seconds slurmctld waits for a silent slurmd before it sets the node DOWN (Slurm's default is
# 300; shorter so that a node whose link is down is seen as lost within a test).
GPO_CLUSTER_SLURMD_TIMEOUT=${GPO_CLUSTER_SLURMD_TIMEOUT:-30}

STATE=$GPO_CLUSTER_DIR
PREFIX=gpo                      # every name we create starts with this: never touch others
BRIDGE=${PREFIX}-br0
BRIDGE_ADDR=${GPO_CLUSTER_SUBNET}.1
# One lock for the whole machine: ports 6817/6818, the bridge and the namespace names are global.
LOCK_FILE=/run/lock/gpo-cluster.lock
HOSTS_BEGIN="# >>> gpo-cluster (test/cluster: removed by teardown) >>>"
HOSTS_END="# <<< gpo-cluster <<<"
SLURM_CONF=$STATE/slurm/slurm.conf
MUNGE_SOCKET=$STATE/munge/munge.socket
SSH_CONFIG=$STATE/ssh/config
export SLURM_CONF

node_names() {
  local i
  for ((i = 1; i <= GPO_CLUSTER_NODES; i++)); do echo "${PREFIX}-n$i"; done
}
node_index() { echo "${1##*-n}"; }
node_addr() { echo "${GPO_CLUSTER_SUBNET}.$((10 + $(node_index "$1")))"; }
# veth pair: the root-namespace end is attached to the bridge, the peer is moved into the node.
node_veth_host() { echo "${PREFIX}-v$(node_index "$1")"; }
node_veth_peer() { echo "${PREFIX}-p$(node_index "$1")"; }
node_netns() { echo "/var/run/netns/$1"; }
# The node's own hostname lives in a UTS namespace kept by a bind mount on this file.
node_uts() { echo "$STATE/ns/$1.uts"; }

say() { printf '[gpo-cluster] %s\n' "$*" >&2; }
die() {
  printf '[gpo-cluster] error: %s\n' "$*" >&2
  exit 1
}

validate_config() {
  [[ $GPO_CLUSTER_NODES =~ ^[23]$ ]] || die "GPO_CLUSTER_NODES=$GPO_CLUSTER_NODES: give 2 or 3 nodes (the tests need two)"
  [[ $GPO_CLUSTER_CPUS =~ ^[1-9][0-9]?$ ]] || die "GPO_CLUSTER_CPUS=$GPO_CLUSTER_CPUS: give a CPU count from 1 to 99"
  [[ $GPO_CLUSTER_SUBNET =~ ^10\.([0-9]{1,3})\.([0-9]{1,3})$ ]] ||
    die "GPO_CLUSTER_SUBNET=$GPO_CLUSTER_SUBNET: give the first three numbers of a private 10.x.y.0/24, e.g. 10.201.0"
  # Teardown removes this folder: only one named for the cluster, never / or a home.
  [[ $GPO_CLUSTER_DIR == /* && $GPO_CLUSTER_DIR != *[[:space:]]* && $(basename "$GPO_CLUSTER_DIR") == *gpo-cluster* ]] ||
    die "GPO_CLUSTER_DIR='$GPO_CLUSTER_DIR': give an absolute folder, without spaces, whose name contains gpo-cluster (teardown removes it)"
}
