# shellcheck shell=bash
# Checks that the cluster is what the tests assume; each failure says what is wrong and where
# to look. The same facts are asserted one by one in test/cluster/harness.test.ts.

check_cluster() {
  local node states tasks expected line
  states=$(sinfo -h -N -o '%N %t' | sort -u)
  for node in $(node_names); do
    grep -qx "$node idle" <<<"$states" || die "sinfo does not show $node idle (it shows: $(tr '\n' ';' <<<"$states"))"
  done
  say "sinfo: $(tr '\n' ' ' <<<"$states")"

  # One task per CPU of the cluster; each reports the node Slurm placed it on, its hostname and
  # the addresses it sees.
  expected=$((GPO_CLUSTER_NODES * GPO_CLUSTER_CPUS))
  # shellcheck disable=SC2016 # expanded by the task's shell, on the node
  tasks=$(srun -N "$GPO_CLUSTER_NODES" -n "$expected" sh -c \
    'echo "$SLURM_PROCID $SLURMD_NODENAME $(hostname) $(ip -4 -o addr show scope global | awk "{print \$4}" | tr "\n" " ")"') ||
    die "srun -N $GPO_CLUSTER_NODES -n $expected failed; see $STATE/slurm/ctld/slurmctld.log and $STATE/nodes/*/slurmd.log"
  [[ $(wc -l <<<"$tasks") -eq $expected ]] || die "srun ran $(wc -l <<<"$tasks") tasks, not $expected: $tasks"
  while read -r _ slurm_node host addrs; do
    [[ $host == "$slurm_node" && $addrs == "$(node_addr "$slurm_node")/24" ]] ||
      die "a task on $slurm_node saw hostname $host and addresses '$addrs', not $slurm_node and $(node_addr "$slurm_node")/24"
  done <<<"$tasks"
  for node in $(node_names); do
    grep -q " $node $node " <<<"$tasks" || die "srun placed no task on $node: $tasks"
  done
  say "srun: $expected tasks, each in its node's namespace"

  # The controller will listen on the bridge address in the root namespace: every node reaches it.
  for node in $(node_names); do
    line=$(tcp_round_trip "$node") || die "$node could not reach $BRIDGE_ADDR over TCP: $line"
    [[ $line == "echo from $node" ]] || die "the TCP round trip from $node returned '$line'"
  done
  say "tcp: every node reaches $BRIDGE_ADDR"
}

# A TCP server on the bridge address (root namespace) echoes one line back to a client on NODE,
# which sends the hostname it sees there. Prints what came back.
tcp_round_trip() {
  local node=$1 portfile=$STATE/tcp-check.port port="" i
  rm -f "$portfile"
  python3 -c '
import os, socket, sys
server = socket.create_server((sys.argv[1], 0))
server.settimeout(20)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(str(server.getsockname()[1]))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
connection, _ = server.accept()
connection.sendall(connection.recv(100))
' "$BRIDGE_ADDR" "$portfile" &
  local server=$!
  for ((i = 0; i < 100; i++)); do
    port=$(cat "$portfile" 2>/dev/null || true)
    [[ -z $port ]] || break
    sleep 0.1
  done
  rm -f "$portfile"
  if [[ -z $port ]]; then
    kill "$server" 2>/dev/null
    echo "the echo server on $BRIDGE_ADDR did not start"
    return 1
  fi
  node_enter "$node" python3 -c '
import socket, sys
client = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
client.sendall(("echo from " + socket.gethostname()).encode())
print(client.recv(100).decode())
' "$BRIDGE_ADDR" "$port" 2>&1
  local rc=$?
  kill "$server" 2>/dev/null
  wait "$server" 2>/dev/null
  return $rc
}
