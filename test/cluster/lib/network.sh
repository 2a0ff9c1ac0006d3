# shellcheck shell=bash
# The nodes' network: a bridge in the root namespace, one network namespace per node joined to it
# by a veth pair, and the nodes' names in /etc/hosts. Only names starting with $PREFIX- are
# created or removed; the default route and every other interface are left alone.

# Fails when any route or address of the machine overlaps our /24 (other than our own bridge):
# the nodes' traffic must never reach a real network.
check_subnet_free() {
  local used
  used=$({ ip -4 -o route show table all | grep -v " dev $BRIDGE " | awk '{print ($1=="local"||$1=="broadcast") ? $2 : $1}'
    ip -4 -o addr show | grep -v " $BRIDGE " | awk '{print $4}'; } |
    python3 -c '
import ipaddress, sys
ours = ipaddress.ip_network(sys.argv[1])
for word in sys.stdin.read().split():
    if word == "default":
        continue
    try:
        net = ipaddress.ip_network(word, strict=False)
    except ValueError:
        continue
    if net.prefixlen > 0 and net.overlaps(ours):
        print(word)
' "${GPO_CLUSTER_SUBNET}.0/24")
  [[ -z $used ]] || die "${GPO_CLUSTER_SUBNET}.0/24 is already used on this machine ($(sort -u <<<"$used" | tr '\n' ' ')); choose another with GPO_CLUSTER_SUBNET=10.X.Y"
}

network_up() {
  check_subnet_free
  ip link show "$BRIDGE" >/dev/null 2>&1 && die "the bridge $BRIDGE exists already: run 'test/cluster/cluster.sh down' first"
  ip link add "$BRIDGE" type bridge
  ip addr add "$BRIDGE_ADDR/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  local node
  for node in $(node_names); do
    ip netns add "$node"
    ip link add "$(node_veth_host "$node")" type veth peer name "$(node_veth_peer "$node")"
    ip link set "$(node_veth_host "$node")" master "$BRIDGE" up
    ip link set "$(node_veth_peer "$node")" netns "$node"
    ip -n "$node" link set lo up
    ip -n "$node" addr add "$(node_addr "$node")/24" dev "$(node_veth_peer "$node")"
    ip -n "$node" link set "$(node_veth_peer "$node")" up
    # No default route in a node: it reaches the bridge's /24 only, so a controller that listens
    # on (or advertises) the machine's eth0 address fails here as it would across a real fabric.
  done
  hosts_add
}

hosts_add() {
  hosts_remove
  {
    echo "$HOSTS_BEGIN"
    local node
    for node in $(node_names); do echo "$(node_addr "$node") $node"; done
    echo "$HOSTS_END"
  } >>/etc/hosts
}

# Rewrites /etc/hosts in place (it may be a bind mount: never replace the file itself).
hosts_remove() {
  grep -qF "$HOSTS_BEGIN" /etc/hosts || return 0
  local kept
  kept=$(awk -v begin="$HOSTS_BEGIN" -v end="$HOSTS_END" '$0==begin{skip=1; next} $0==end{skip=0; next} !skip' /etc/hosts)
  printf '%s\n' "$kept" >/etc/hosts
}

# Our namespaces and interfaces, whatever node count they were made with.
our_netns() { ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${PREFIX}-n[0-9]+$" || true; }
our_links() { ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E "^${PREFIX}-(br0|v[0-9]+)$" || true; }

network_down() {
  local ns link
  for ns in $(our_netns); do ip netns delete "$ns" || say "could not delete the network namespace $ns"; done
  # Deleting a namespace deletes its veth end, and the peer with it; the bridge goes last.
  for link in $(our_links); do ip link delete "$link" 2>/dev/null || true; done
  hosts_remove
}

# What is left of the network (empty when the teardown was complete).
network_leftovers() {
  local ns link
  for ns in $(our_netns); do echo "network namespace $ns"; done
  for link in $(our_links); do echo "interface $link"; done
  if grep -qF "$HOSTS_BEGIN" /etc/hosts; then echo "/etc/hosts lines between the gpo-cluster markers"; fi
}
