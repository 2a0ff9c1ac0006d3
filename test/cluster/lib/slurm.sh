# shellcheck shell=bash
# munged, slurmctld (root namespace) and one slurmd per node (in the node's namespaces), all with
# their keys, configs, spool, logs and pid files under $STATE.

munge_up() {
  install -d -o munge -g munge -m 0755 "$STATE/munge"
  # A key made for this cluster; munged refuses one readable by anyone but its owner.
  head -c 1024 /dev/urandom >"$STATE/munge/munge.key"
  chown munge:munge "$STATE/munge/munge.key"
  chmod 0400 "$STATE/munge/munge.key"
  # 9>&-: a daemon must not inherit the lock's descriptor (cluster.sh with_lock), or it would
  # hold the lock for as long as it lives. Every daemon below is started so.
  runuser -u munge -- /usr/sbin/munged --key-file="$STATE/munge/munge.key" --socket="$MUNGE_SOCKET" \
    --pid-file="$STATE/munge/munged.pid" --log-file="$STATE/munge/munged.log" --seed-file="$STATE/munge/munged.seed" 9>&- ||
    die "munged failed to start (exit $?); its log is $STATE/munge/munged.log"
  wait_pidfile "$STATE/munge/munged.pid" munged "$STATE/munge/munged.log"
}

slurm_conf_write() {
  install -d -m 0755 "$STATE/slurm" "$STATE/slurm/ctld"
  local node
  for node in $(node_names); do install -d -m 0755 "$STATE/nodes/$node/spool"; done
  cat >"$SLURM_CONF" <<CONF
# Made by test/cluster (gpo-cluster); removed by its teardown.
ClusterName=gpo
# slurmctld only starts on the host this names, and it must be \`hostname\`; the address is the
# bridge's, the one the nodes can reach.
SlurmctldHost=$(hostname -s)($BRIDGE_ADDR)
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$STATE/slurm/ctld
SlurmctldPidFile=$STATE/slurm/ctld/slurmctld.pid
SlurmctldLogFile=$STATE/slurm/ctld/slurmctld.log
# %n: every node's slurmd runs on this one machine, so each needs its own spool, pid and log.
SlurmdSpoolDir=$STATE/nodes/%n/spool
SlurmdPidFile=$STATE/nodes/%n/slurmd.pid
SlurmdLogFile=$STATE/nodes/%n/slurmd.log
# The nodes declare more CPUs than the machine has.
SlurmdParameters=config_overrides
# No cgroup plugin: the machine has no usable cgroup hierarchy for Slurm.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
SlurmdTimeout=$GPO_CLUSTER_SLURMD_TIMEOUT
# A node that was DOWN because it stopped answering comes back by itself when it answers again.
ReturnToService=2
SlurmctldDebug=info
SlurmdDebug=info
CONF
  for node in $(node_names); do
    echo "NodeName=$node NodeAddr=$(node_addr "$node") CPUs=$GPO_CLUSTER_CPUS State=UNKNOWN" >>"$SLURM_CONF"
  done
  echo "PartitionName=gpo Nodes=ALL Default=YES MaxTime=INFINITE State=UP" >>"$SLURM_CONF"
}

slurmctld_up() {
  # -i: ignore state saved by an earlier cluster (there is none after a complete teardown).
  slurmctld -i -f "$SLURM_CONF" 9>&- || die "slurmctld failed to start (exit $?); its log is $STATE/slurm/ctld/slurmctld.log"
  wait_pidfile "$STATE/slurm/ctld/slurmctld.pid" slurmctld "$STATE/slurm/ctld/slurmctld.log"
}

# slurmd in the node's network and UTS namespaces. nsenter, not `ip netns exec`: the latter
# remounts /sys, and slurmd then fails on /sys/fs/cgroup.
slurmd_up() {
  local node=$1
  node_enter "$node" slurmd -f "$SLURM_CONF" -N "$node" 9>&- ||
    die "slurmd of $node failed to start (exit $?); its log is $STATE/nodes/$node/slurmd.log"
  wait_pidfile "$STATE/nodes/$node/slurmd.pid" "slurmd of $node" "$STATE/nodes/$node/slurmd.log"
}

# Every node idle, as slurmctld sees it (a node is "unknown" until its slurmd registers).
wait_nodes_idle() {
  local i states
  for ((i = 0; i < 300; i++)); do
    states=$(sinfo -h -N -o '%N %t' 2>/dev/null | sort -u)
    if [[ $(grep -c ' idle$' <<<"$states") -eq $GPO_CLUSTER_NODES ]]; then return 0; fi
    sleep 0.2
  done
  die "the nodes did not all become idle within 60 s (sinfo says: $(tr '\n' ';' <<<"$states")); see $STATE/slurm/ctld/slurmctld.log and $STATE/nodes/*/slurmd.log"
}

slurm_down() {
  local pidfile ok=0
  for pidfile in "$STATE"/nodes/*/slurmd.pid; do
    [[ -e $pidfile ]] || continue
    stop_pidfile "$pidfile" "slurmd of $(basename "$(dirname "$pidfile")")" || ok=1
  done
  stop_pidfile "$STATE/slurm/ctld/slurmctld.pid" slurmctld || ok=1
  stop_pidfile "$STATE/munge/munged.pid" munged || ok=1
  return $ok
}
