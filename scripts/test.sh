#!/usr/bin/env bash
# Runs singlepull's whole test suite: unit tests of every module, then the integration tests against the real
# distribution registry (started by the tests on a free loopback port) and, as root, against containerd running
# pods. Installs what the tests need first.
# CI=true selects the CI-sized variants of long checks.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
scripts/install-packages.sh maven docker-registry umoci apache2-utils zstd python3-grpcio python3-grpc-tools libisal2 \
    containerd runc busybox-static redis-server
# shellcheck source=find-jdk.sh
. scripts/find-jdk.sh
singlepull_find_jdk
echo "using JDK at $JAVA_HOME" >&2
mvn -B -ntp verify "$@"
