#!/usr/bin/env bash
# singlepull and containerd 1.6 side by side (issues 7 and 15): installs Debian's containerd if missing, builds
# singlepull, then the benchmark starts a local distribution registry, containerd (CRI plugin, overlayfs, a root,
# state and socket of its own, hosts.toml sending the registry to plain http), singlepull with its defaults and
# singlepull with snapshot_sync "none", pushes the three image shapes, drives all three cold with
# `singlepull load-test` and with `crictl pull` processes, 1 and 20 pulls, prints the tables, and stops all it
# started. Needs root (containerd mounts overlays).
#   bench/compare-containerd.sh [-Dbench.rounds=3] [-Dbench.images=small,medium,large]
# crictl: $CRICTL, else crictl on the PATH, else `go install` of cri-tools v1.26.1 where Go and its module proxy
# are reachable; without one, the crictl rows are left out and the output says so.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
scripts/install-packages.sh maven docker-registry containerd libisal2 pigz
# shellcheck source=../scripts/find-jdk.sh
. scripts/find-jdk.sh
singlepull_find_jdk

crictl=${CRICTL:-$(command -v crictl || true)}
if [[ -z "$crictl" ]] && command -v go >/dev/null; then
    echo "no crictl: trying go install sigs.k8s.io/cri-tools/cmd/crictl@v1.26.1 ..."
    if GOBIN="$here/target/crictl" timeout 600 go install sigs.k8s.io/cri-tools/cmd/crictl@v1.26.1 >/dev/null 2>&1
    then
        crictl="$here/target/crictl/crictl"
    else
        echo "could not build crictl here (Go modules unreachable?)"
    fi
fi
[[ -n "$crictl" ]] && echo "crictl: $crictl ($("$crictl" --version 2>&1))"

mvn -B -q -ntp install -DskipTests
mvn -B -ntp -pl test verify -Pbench -Dtest=CompareContainerdBench -Dsurefire.failIfNoSpecifiedTests=false \
    -Dbench.crictl="$crictl" "$@" 2>&1 \
    | grep --line-buffered -E '^(image|building|warming|no crictl|\||.* walls=|.* peak RSS|Tests run|\[ERROR\])' \
    || true
