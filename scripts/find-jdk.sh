# Sourced by singlepull's launcher and scripts: sets JAVA_HOME to a JDK >= 25 and JAVA to its java, or fails
# with a clear message. Looks at $JAVA_HOME first, then every JDK under /usr/lib/jvm (newest first).
# shellcheck shell=bash

singlepull_java_feature() { # prints the feature release (17, 25, ...) of the java at $1, or nothing
    local v
    v=$("$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p' | head -n1)
    printf '%s' "${v%%.*}"
}

singlepull_find_jdk() {
    local min=25 candidate feature
    local candidates=()
    [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
    if [ -d /usr/lib/jvm ]; then
        while IFS= read -r candidate; do candidates+=("$candidate"); done \
            < <(find /usr/lib/jvm -mindepth 1 -maxdepth 1 \( -type d -o -type l \) | sort -rV)
    fi
    for candidate in "${candidates[@]}"; do
        [ -x "$candidate/bin/java" ] && [ -x "$candidate/bin/javac" ] || continue
        feature=$(singlepull_java_feature "$candidate/bin/java")
        if [ -n "$feature" ] && [ "$feature" -ge "$min" ] 2>/dev/null; then
            JAVA_HOME=$candidate
            JAVA="$candidate/bin/java"
            export JAVA_HOME JAVA
            return 0
        fi
    done
    {
        echo "singlepull needs a JDK $min or newer, and none was found."
        echo "Looked at: \$JAVA_HOME (${JAVA_HOME:-unset}) and /usr/lib/jvm/*."
        echo "Install a JDK >= $min (for example Temurin 25) under /usr/lib/jvm, or point JAVA_HOME at one."
    } >&2
    return 1
}
