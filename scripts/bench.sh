#!/usr/bin/env bash
# Runs singlepull's benchmarks (never part of scripts/test.sh) and prints their figures.
#   scripts/bench.sh                         load-test of a ~100 MB image, N=1 and N=20, 3 cold rounds each
#   scripts/bench.sh -Dbench.imageMb=500     a bigger image
#   scripts/bench.sh -Dtest=SnapshotSyncBench  snapshot_sync = syncfs / fsync / none on a 5,000-file layer
#   scripts/bench.sh -Dtest=ScalingBench     N = 1, 20, 100, 1000 callers of the 530 MB image: wall, CPU, RSS, ListImages
#   scripts/bench.sh -Dtest=CopyBufferBench  download copy buffers of 16 KiB to 4 MiB: MB/s and pinned memory
#   scripts/bench.sh -Dtest=CrashRoundsBench SIGKILL during parallel part writes and their resume, 12 seeded rounds
#   scripts/bench.sh -Dtest=PullPathBench    download-then-unpack against unpack-while-downloading and ranges
#   scripts/bench.sh -Dtest=CpuPerPullBench  service CPU per cold pull of the 530 MB image; -Dbench.jfr=true adds
#                                            where it goes (a JFR CPU-time profile, by category)
#   scripts/bench.sh -Dtest=RunPodsBench     20 cold pulls to 20 running pods of the 530 MB image, singlepull +
#                                            containerd against containerd alone, and create-to-start (root)
#   scripts/bench.sh -Dtest=ClusterBench     K = 1, 2, 4, 8 nodes pulling the 530 MB image behind one 40 MB/s
#                                            budget: cluster tier on, off, and through a pull-through cache
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
scripts/install-packages.sh maven docker-registry zstd libisal2 libdeflate-tools pigz
case "$*" in *RunPodsBench*) scripts/install-packages.sh containerd runc busybox-static ;; esac
case "$*" in *ClusterBench*) scripts/install-packages.sh redis-server ;; esac
# shellcheck source=find-jdk.sh
. scripts/find-jdk.sh
singlepull_find_jdk
mvn -B -q -ntp install -DskipTests
mvn -B -ntp -pl test verify -Pbench -Dtest=LoadTestBench -Dsurefire.failIfNoSpecifiedTests=false "$@" 2>&1 \
    | grep -E '^(image|round|old|new|NMT|cluster  |off  |cache  |[0-9]+ processes|warm-up|cpu-per-pull|where the service|create-to-start|parts crash|snapshot-sync|CopyBufferBench|\||[0-9]+ MB, cold|Tests run|\[ERROR\])' || true
