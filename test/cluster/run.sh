#!/usr/bin/env bash
# npm run test:cluster: sets the test cluster up (cluster.sh up, sshd, check), runs the
# multi-node tests on it (vitest.cluster.config.ts; arguments go to vitest), then the teardown
# phase, which tears it down and checks nothing is left. Tears down on any failure too.
# GPO_CLUSTER_KEEP=1 leaves the cluster up afterwards, to debug (then: cluster.sh down).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=test/cluster/lib/config.sh
source "$HERE/lib/config.sh"
validate_config

[[ $EUID -eq 0 ]] || die "npm run test:cluster needs root: it sets up a Slurm cluster on this machine (network namespaces, a bridge, /etc/hosts lines, munged, slurmctld, slurmd, sshd); run it as root, e.g. sudo npm run test:cluster"

# One cluster per machine: wait for another checkout's run to end rather than break it.
exec 9>"$LOCK_FILE"
if ! flock -n 9; then
  say "another cluster test run holds $LOCK_FILE; waiting for it (up to 20 minutes)"
  flock -w 1200 9 || die "the cluster lock $LOCK_FILE was still held after 20 minutes; find its holder with: fuser -v $LOCK_FILE"
fi
export GPO_CLUSTER_LOCK_HELD=1

elapsed() { awk -v start="$1" -v now="$(date +%s.%N)" 'BEGIN { printf "%.1f", now - start }'; }

# shellcheck disable=SC2317 # called by the EXIT trap
finish() {
  local rc=$? started
  trap - EXIT INT TERM
  if [[ ${GPO_CLUSTER_KEEP:-} == 1 ]]; then
    say "GPO_CLUSTER_KEEP=1: the cluster stays up; $HERE/cluster.sh down removes it"
  else
    started=$(date +%s.%N)
    "$HERE/cluster.sh" down 9>&- || rc=1
    say "teardown: $(elapsed "$started") s"
  fi
  exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

started=$(date +%s.%N)
"$HERE/cluster.sh" down 9>&- # what a killed earlier run left
"$HERE/cluster.sh" up 9>&-
"$HERE/cluster.sh" sshd 9>&-
"$HERE/cluster.sh" check 9>&-
say "set-up (teardown of leftovers, up, sshd, check): $(elapsed "$started") s"

eval "$("$HERE/cluster.sh" env)"
cd "$ROOT"
failed=0
npx vitest run --config vitest.cluster.config.ts "$@" 9>&- || failed=1
if [[ ${GPO_CLUSTER_KEEP:-} != 1 ]]; then
  GPO_CLUSTER_PHASE=teardown npx vitest run --config vitest.cluster.config.ts 9>&- || failed=1
fi
exit "$failed"
