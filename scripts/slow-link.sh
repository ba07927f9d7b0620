#!/usr/bin/env bash
# The KV transfer over a slow link: a receiver and a sender (io.baton.kvtransfer.bench.KvBench receive|send) in two
# network namespaces joined by a veth pair whose sending side is shaped with `tc tbf` to 1 and 10 Gbit/s. For each rate
# it moves the KV of 512, 2048 and 8192-token prompts (qwen2.5-0.5b shape, F32) with the native wire and with INT8 and
# prints one JSON array per run ({"test", "value", "unit"}: seconds from start to acknowledgement, and Gbit/s of KV).
#
# Needs root and iproute2 (installed with apt-get when missing). Where namespaces cannot be made (no root, no
# CAP_NET_ADMIN, a restricted container) it prints "SKIPPED: ..." and exits 0.
# Usage: scripts/slow-link.sh [RATES] [TOKENS]   e.g. scripts/slow-link.sh "1gbit 10gbit" 512,2048,8192
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rates="${1:-1gbit 10gbit}"
tokens="${2:-512,2048,8192}"
ns_send=baton-kv-send ns_recv=baton-kv-recv
addr_send=10.77.0.1 addr_recv=10.77.0.2 port=7070

skip() { echo "SKIPPED: slow-link experiment: $*" >&2; exit 0; }

[ "$(id -u)" = 0 ] || skip "needs root to make network namespaces"
if ! command -v ip >/dev/null || ! command -v tc >/dev/null; then
  echo "slow-link: installing iproute2..." >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2; } >&2 || skip "iproute2 is missing and could not be installed"
fi

java=""
for c in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/java-25-openjdk-amd64; do
  if [ -n "$c" ] && [ -x "$c/bin/java" ] && "$c/bin/java" -version 2>&1 | grep -q 'version "2[5-9]'; then java="$c/bin/java"; break; fi
done
[ -n "$java" ] || { echo "slow-link: no JDK 25 found (set JAVA_HOME)" >&2; exit 1; }
export JAVA_HOME="$(dirname "$(dirname "$java")")"

echo "slow-link: building kvtransfer..." >&2
(cd "$root" && ./mvnw -q -B -o -pl kvtransfer -am compile >&2) || (cd "$root" && ./mvnw -q -B -pl kvtransfer -am compile >&2)
cp="$root/kvtransfer/target/classes:$root/engine/target/classes"
run_java() { "$java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx512m -cp "$cp" io.baton.kvtransfer.bench.KvBench "$@"; }

receiver_pid=""
log="$(mktemp)"
cleanup() {
  if [ -n "$receiver_pid" ]; then kill "$receiver_pid" 2>/dev/null || true; wait "$receiver_pid" 2>/dev/null || true; fi
  ip netns del "$ns_send" 2>/dev/null || true
  ip netns del "$ns_recv" 2>/dev/null || true
  rm -f "$log"
}
trap cleanup EXIT

ip netns add "$ns_send" 2>/dev/null || skip "cannot create network namespaces here (ip netns add failed)"
ip netns add "$ns_recv" || skip "cannot create a second network namespace"
ip link add kv-send netns "$ns_send" type veth peer name kv-recv netns "$ns_recv" || skip "cannot create a veth pair"
ip -n "$ns_send" addr add "$addr_send/24" dev kv-send
ip -n "$ns_recv" addr add "$addr_recv/24" dev kv-recv
for ns in "$ns_send" "$ns_recv"; do ip -n "$ns" link set lo up; done
ip -n "$ns_send" link set kv-send up
ip -n "$ns_recv" link set kv-recv up

for rate in $rates; do
  # Token bucket on the sender's egress (the KV direction). The bucket holds about 1 ms of traffic at the rate.
  case "$rate" in
    *gbit) burst=$(( ${rate%gbit} * 125000 + 15000 )) ;;
    *) burst=200000 ;;
  esac
  ip netns exec "$ns_send" tc qdisc replace dev kv-send root tbf rate "$rate" burst "$burst" latency 100ms
  for wire in native int8; do
    : >"$log"
    ip netns exec "$ns_recv" bash -c "exec \"\$0\" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx512m \
      -cp '$cp' io.baton.kvtransfer.bench.KvBench receive --listen $addr_recv:$port --max-tokens ${tokens##*,}" "$java" >"$log" 2>&1 &
    receiver_pid=$!
    for _ in $(seq 1 200); do grep -q "receiving at" "$log" && break; kill -0 "$receiver_pid" 2>/dev/null || break; sleep 0.1; done
    grep -q "receiving at" "$log" || { cat "$log" >&2; echo "slow-link: receiver did not start" >&2; exit 1; }
    echo "# link $rate, wire $wire" >&2
    ip netns exec "$ns_send" "$java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx512m -cp "$cp" \
      io.baton.kvtransfer.bench.KvBench send --to "$addr_recv:$port" --tokens "$tokens" --wire "$wire" --label "$rate" --json 2>/dev/null
    wait "$receiver_pid" 2>/dev/null || true
    receiver_pid=""
  done
done
