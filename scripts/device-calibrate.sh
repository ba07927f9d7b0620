#!/bin/bash
# The client-overhead measurement of docs/performance.md on a machine with cores to spare (the tool library's device
# host), where Java is not installed.
#
#   scripts/device-calibrate.sh prepare     # here: builds, jlinks a Java 25 runtime and a trimmed class path into out/
#   MODES="A B S" scripts/device-calibrate.sh run   # there (carry out/): client pinned to core 2, scripted server to 4,5
#
# Modes: A normal, B normal without preconnect, R realtime, S short-slice, P short-slice with a pre-touched heap,
# Q normal with a pre-touched heap, D the recommended configuration of docs/bench.md (pre-touched heap, default auto),
# E the same with 2,000 streams.
#
# out/ is git-ignored; the bundle is about 57 MB (the device's carry limit is 64 MiB with the working tree).
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  prepare)
    export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
    ./mvnw -q -B -DskipTests install -pl cli -am
    rm -rf out/jre out/lib && mkdir -p out/lib
    "$JAVA_HOME/bin/jlink" --add-modules java.base,java.logging,java.management,java.naming,java.net.http,java.sql,jdk.incubator.vector,jdk.unsupported,jdk.management,jdk.jfr \
      --strip-debug --no-header-files --no-man-pages --compress=zip-9 --output out/jre
    strip --strip-unneeded out/jre/lib/server/libjvm.so
    cp cli/target/baton-cli.jar out/
    # calibrate needs the bench module, Vert.x/Netty, Jackson and picocli; gRPC, protobuf, Guava and Jinjava stay here.
    for j in cli/target/lib/*.jar; do
      case "$(basename "$j")" in grpc-*|protobuf-*|proto-google*|guava*|jinjava*|snakeyaml*|jackson-dataformat-yaml*|javassist*|re2j*) ;; *) cp "$j" out/lib/ ;; esac
    done
    du -sh out ;;
  run)
    OUT=${OUT:-out/results}; mkdir -p "$OUT"
    RUN=0
    J="out/jre/bin/java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xss4m"
    one() { # name, JVM options, calibrate arguments
      local name=$1-$((++RUN)) opts=$2; shift 2
      echo "=== $name: $opts $*" | tee -a "$OUT/summary.txt"
      taskset -c 2 $J $opts -cp "out/baton-cli.jar:out/lib/*" io.baton.cli.Main bench calibrate --progress off --server-cpus 4,5 "$@" \
        > "$OUT/$name.txt" 2>&1 || true
      grep -E "completed|distortion|lateness|lag|noise|connections|gaps|verdict|waited|per second" "$OUT/$name.txt" | tee -a "$OUT/summary.txt"
    }
    lscpu | grep -E "Model name|^CPU\(s\)" | tee "$OUT/host.txt"
    for mode in ${MODES:-A B}; do
      case $mode in
        A) one pre600 "-XX:+UseParallelGC -Xmx12g -Xmn10g" --streams 1000 --tokens 600 --itl-ms 50 --warmup 3 --loop-priority normal ;;
        B) one nopre600 "-XX:+UseParallelGC -Xmx12g -Xmn10g" --streams 1000 --tokens 600 --itl-ms 50 --warmup 3 --no-preconnect --loop-priority normal ;;
        R) one pre600rt "-XX:+UseParallelGC -Xmx12g -Xmn10g" --streams 1000 --tokens 600 --itl-ms 50 --warmup 3 --loop-priority realtime ;;
        S) one pre600slice "-XX:+UseParallelGC -Xmx12g -Xmn10g" --streams 1000 --tokens 600 --itl-ms 50 --warmup 3 --loop-priority short-slice ;;
        P) one pre600slicetouch "-XX:+UseParallelGC -Xmx12g -Xmn10g -XX:+AlwaysPreTouch" --streams 1000 --tokens 600 --itl-ms 50 --warmup 3 --loop-priority short-slice ;;
        Q) one pre600touch "-XX:+UseParallelGC -Xmx12g -Xmn10g -XX:+AlwaysPreTouch" --streams 1000 --tokens 600 --itl-ms 50 --warmup 3 --loop-priority normal ;;
        # D: the configuration docs/bench.md recommends, as written there (--loop-priority left at its default, auto)
        D) one default600 "-XX:+UseParallelGC -Xmx12g -Xmn10g -XX:+AlwaysPreTouch" --streams 1000 --tokens 600 --itl-ms 50 --warmup 3 ;;
        # E: D with twice the streams (the headroom above the issue's 1,000)
        E) one default600x2000 "-XX:+UseParallelGC -Xmx12g -Xmn10g -XX:+AlwaysPreTouch" --streams 2000 --tokens 600 --itl-ms 50 --warmup 3 ;;
        *) echo "unknown mode $mode (A, B, R, S, P, Q, D, E)" ;;
      esac
    done ;;
  *) echo "usage: $0 prepare | run" >&2; exit 2 ;;
esac
