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
# ISA-L inflates gzip layers about twice as fast as java.util.zip; without it, java.util.zip is used
scripts/install-packages.sh libisal2 || echo "libisal2 could not be installed: gzip layers use java.util.zip" >&2
if [ ! -f cri-shim/target/singlepull.jar ] || [ -n "$(find . -path ./.git -prune -o -newer cri-shim/target/singlepull.jar \
        \( -name '*.java' -o -name '*.proto' -o -name pom.xml \) -print -quit)" ]; then
    mvn -B -q package -DskipTests
fi
exec bin/singlepull serve "$@"
