# shellcheck shell=bash
# An sshd on each node (for `--launcher ssh`): root logs in with the cluster's own key only.
# The client side is $SSH_CONFIG (key, known_hosts) and $STATE/bin/ssh, an ssh that uses it:
# put $STATE/bin first in PATH and a plain `ssh gpo-n1 ...` reaches the node.

sshd_up() {
  command -v /usr/sbin/sshd >/dev/null || die "sshd is missing: apt-get install -y openssh-server"
  # Debian's sshd needs its privilege separation folder; made (and later removed) only if absent.
  if [[ ! -d /run/sshd ]]; then
    install -d -m 0755 /run/sshd
    : >"$STATE/ssh-made-run-sshd"
  fi
  install -d -m 0700 "$STATE/ssh"
  install -d -m 0755 "$STATE/bin"
  rm -f "$STATE/ssh/id_ed25519" "$STATE/ssh/id_ed25519.pub"
  ssh-keygen -q -t ed25519 -N '' -C gpo-cluster -f "$STATE/ssh/id_ed25519"
  cp "$STATE/ssh/id_ed25519.pub" "$STATE/ssh/authorized_keys"
  : >"$STATE/ssh/known_hosts"
  local node dir names
  names=$(node_names | tr '\n' ' ')
  for node in $(node_names); do
    dir=$STATE/ssh/nodes/$node
    install -d -m 0700 "$dir"
    ssh-keygen -q -t ed25519 -N '' -C "$node" -f "$dir/ssh_host_ed25519_key"
    echo "$node,$(node_addr "$node") $(cut -d' ' -f1,2 "$dir/ssh_host_ed25519_key.pub")" >>"$STATE/ssh/known_hosts"
    cat >"$dir/sshd_config" <<CONF
ListenAddress $(node_addr "$node")
HostKey $dir/ssh_host_ed25519_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $STATE/ssh/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
# The key files sit under /tmp, which is writable by all: strict modes would refuse them.
StrictModes no
# Tests mark every process of a run with this variable to find it again (test/helpers/processes.ts).
AcceptEnv GPU_ORCHESTRATE_TEST_MARKER
LogLevel VERBOSE
CONF
    node_enter "$node" /usr/sbin/sshd -f "$dir/sshd_config" -E "$dir/sshd.log" 9>&- ||
      die "sshd of $node failed to start (exit $?); its log is $dir/sshd.log"
    wait_pidfile "$dir/sshd.pid" "sshd of $node" "$dir/sshd.log"
  done
  cat >"$SSH_CONFIG" <<CONF
Host $names
  User root
  IdentityFile $STATE/ssh/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $STATE/ssh/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  ConnectTimeout 10
  SendEnv GPU_ORCHESTRATE_TEST_MARKER
CONF
  printf '#!/bin/sh\n# ssh with the gpo-cluster key and known_hosts (test/cluster/lib/sshd.sh)\nexec /usr/bin/ssh -F %s "$@"\n' "$SSH_CONFIG" >"$STATE/bin/ssh"
  chmod 0755 "$STATE/bin/ssh"
}

sshd_down() {
  local pidfile ok=0
  for pidfile in "$STATE"/ssh/nodes/*/sshd.pid; do
    [[ -e $pidfile ]] || continue
    stop_pidfile "$pidfile" "sshd of $(basename "$(dirname "$pidfile")")" || ok=1
  done
  if [[ -e $STATE/ssh-made-run-sshd ]]; then rmdir /run/sshd 2>/dev/null || true; fi
  return $ok
}
