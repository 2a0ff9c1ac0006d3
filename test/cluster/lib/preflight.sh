# shellcheck shell=bash
# What the cluster needs from the machine; each failure says what is missing and what to do.

PACKAGES=(slurm-wlm munge openssh-server)

preflight() {
  [[ $EUID -eq 0 ]] || die "the cluster needs root (it makes network namespaces, a bridge and /etc/hosts lines, and starts munged, slurmctld and slurmd): run it as root, e.g. sudo npm run test:cluster"
  local cmd
  for cmd in ip nsenter unshare findmnt flock runuser python3 ss; do
    command -v "$cmd" >/dev/null || die "the command $cmd is missing: install iproute2, util-linux and python3"
  done
  if ! ip netns add "${PREFIX}-probe" 2>"$STATE.probe.err"; then
    local why
    why=$(cat "$STATE.probe.err")
    rm -f "$STATE.probe.err"
    die "this machine cannot make network namespaces ('ip netns add' failed: $why); run the cluster tests as root on a Linux host or VM, or in a container with CAP_SYS_ADMIN and CAP_NET_ADMIN"
  fi
  rm -f "$STATE.probe.err"
  ip netns delete "${PREFIX}-probe"
  install_packages
  id munge >/dev/null 2>&1 || die "the user munge is missing (the munge package makes it): apt-get install --reinstall munge"
  # slurmctld listens on 6817 in the root namespace: another Slurm there would take our calls.
  if [[ -n $(ss -Hltn 'sport = :6817') ]]; then
    die "port 6817 (slurmctld) is already in use on this machine ($(ss -Hltnp 'sport = :6817' | tr -s ' ')); stop that Slurm controller, or a cluster left by another checkout (test/cluster/cluster.sh down)"
  fi
}

# The commands the cluster runs, each by the package that has it.
missing_commands() {
  local cmd
  for cmd in slurmctld slurmd sinfo srun scontrol munged sshd ssh-keygen; do
    command -v "$cmd" >/dev/null || [[ -x /usr/sbin/$cmd ]] || echo "$cmd"
  done
}

install_packages() {
  [[ -n $(missing_commands) ]] || return 0
  command -v apt-get >/dev/null ||
    die "$(missing_commands | tr '\n' ' ')missing and there is no apt-get: install ${PACKAGES[*]} (Slurm 22.05) by hand"
  say "installing ${PACKAGES[*]} with apt-get ($(missing_commands | tr '\n' ' ')missing)"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq "${PACKAGES[@]}" >"$STATE.apt.log" 2>&1; then
    apt-get update -qq >>"$STATE.apt.log" 2>&1 || true
    if ! apt-get install -y -qq "${PACKAGES[@]}" >>"$STATE.apt.log" 2>&1; then
      tail -n 20 "$STATE.apt.log" >&2
      rm -f "$STATE.apt.log"
      die "apt-get could not install ${PACKAGES[*]} (its output is above); install them by hand, then run again"
    fi
  fi
  rm -f "$STATE.apt.log"
  # A package that is installed but lost a file is not reinstalled by apt-get install.
  [[ -z $(missing_commands) ]] ||
    die "$(missing_commands | tr '\n' ' ')still missing after apt-get install ${PACKAGES[*]}: apt-get install --reinstall ${PACKAGES[*]}"
}
