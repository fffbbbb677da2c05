#!/usr/bin/env bash
# Builds singlepull if needed and runs `singlepull serve` on its embedded defaults (extra arguments are passed on).
# The service answers on its socket (as root: /run/singlepull/singlepull.sock) once it prints "serving on".
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
# shellcheck source=find-jdk.sh
. scripts/find-jdk.sh
singlepull_find_jdk
if ! command -v mvn >/dev/null 2>&1; then
    scripts/install-packages.sh maven
fi
if [ ! -f cri-shim/target/singlepull.jar ] || [ -n "$(find . -path ./.git -prune -o -newer cri-shim/target/singlepull.jar \
        \( -name '*.java' -o -name '*.proto' -o -name pom.xml \) -print -quit)" ]; then
    mvn -B -q package -DskipTests
fi
exec bin/singlepull serve "$@"
