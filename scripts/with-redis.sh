#!/usr/bin/env bash
# Runs a command with a throwaway redis-server on a free loopback port, its URL
# in KSIM_QUEUE (with a random password), and stops the server afterwards.
# Try a distributed campaign on one machine:
#   scripts/with-redis.sh sh -c '
#     node apps/machine/dist/cli.js worker --jobs 1 & a=$!
#     node apps/machine/dist/cli.js worker --jobs 1 & b=$!
#     node apps/machine/dist/cli.js stress seed-stress --seeds 1..20 --duration 10m --queue "$KSIM_QUEUE"; rc=$?
#     kill $a $b; wait; exit $rc'
set -euo pipefail
if [ $# -eq 0 ]; then
  echo "usage: $0 COMMAND [ARG]..." >&2
  exit 2
fi
if ! command -v redis-server >/dev/null 2>&1; then
  echo "$0: redis-server is not installed (Debian/Ubuntu: apt-get install -y redis-server)" >&2
  exit 2
fi
dir=$(mktemp -d)
port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
password=$(node -e 'console.log(require("crypto").randomBytes(12).toString("hex"))')
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" --requirepass "$password" \
  >"$dir/redis.log" 2>&1 &
redis_pid=$!
cleanup() {
  kill "$redis_pid" 2>/dev/null || true
  wait "$redis_pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
for _ in $(seq 100); do
  grep -q "Ready to accept connections" "$dir/redis.log" && break
  if ! kill -0 "$redis_pid" 2>/dev/null; then
    cat "$dir/redis.log" >&2
    exit 2
  fi
  sleep 0.1
done
export KSIM_QUEUE="redis://:$password@127.0.0.1:$port/0"
echo "with-redis: redis-server on 127.0.0.1:$port (KSIM_QUEUE is set)" >&2
status=0
"$@" || status=$?
exit "$status"
