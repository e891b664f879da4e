#!/usr/bin/env bash
# Fuzz the API of `designgan serve` from its OpenAPI document with schemathesis, on 127.0.0.1.
#
#   bash benchmarks/schemathesis_run.sh [MAX_EXAMPLES]      # default 50 test cases per operation
#
# Starts a server with the built-in model on a free port, runs every schemathesis check
# with a fixed seed, prints the summary and stops the server. Exits with schemathesis's status.
set -euo pipefail
cd "$(dirname "$0")/.."

max_examples="${1:-50}"
port="$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
log="$(mktemp)"

python -m designgan serve --host 127.0.0.1 --port "$port" >"$log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true' EXIT

for _ in $(seq 240); do
    if curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; then break; fi
    sleep 0.5
done

status=0
schemathesis --config-file benchmarks/schemathesis.toml run "http://127.0.0.1:$port/openapi.json" \
    --checks all --max-examples "$max_examples" --seed 1 --generation-database none \
    --request-timeout 30 --max-time 900 || status=$?

echo "server responses by status: $(grep -o 'status=[0-9]*' "$log" | sort | uniq -c | tr -s ' ' | tr '\n' ';')"
exit "$status"
