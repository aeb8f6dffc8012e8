#!/usr/bin/env bash
# Prints the directive names redis-server on PATH knows (CONFIG GET *), one a line, sorted.
# Used to regenerate src/config/redis70-directives.ts. Starts a throwaway server on a free port.
set -euo pipefail
dir=$(mktemp -d)
trap 'redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save '' --dir "$dir" --daemonize yes --pidfile "$dir/p" >/dev/null
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$port" config get '*' | awk 'NR % 2 == 1' | sort
