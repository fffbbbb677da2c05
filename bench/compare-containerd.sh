#!/usr/bin/env bash
# singlepull and containerd 1.6 side by side (issue 7): installs Debian's containerd if missing, builds singlepull,
# then the benchmark starts a local distribution registry, containerd (CRI plugin, overlayfs, a root, state and
# socket of its own, hosts.toml sending the registry to plain http) and singlepull, pushes the three image shapes,
# drives both with `singlepull load-test` cold, N=1 and N=20 and a mixed run, prints one table, and stops all it
# started. Needs root (containerd mounts overlays).   bench/compare-containerd.sh [-Dbench.rounds=3]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
scripts/install-packages.sh maven docker-registry containerd libisal2
# shellcheck source=../scripts/find-jdk.sh
. scripts/find-jdk.sh
singlepull_find_jdk
mvn -B -q -ntp install -DskipTests
mvn -B -ntp -pl test verify -Pbench -Dtest=CompareContainerdBench -Dsurefire.failIfNoSpecifiedTests=false "$@" 2>&1 \
    | grep -E '^(image|building|\||.* walls=|containerd peak|singlepull peak|Tests run|\[ERROR\])' || true
