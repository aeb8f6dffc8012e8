#!/usr/bin/env bash
# The directive names a Redis or Valkey release accepts in a config file, one a line, sorted.
# scripts/write-directive-tables.ts turns them into src/config/directive-tables.ts.
#
#   scripts/list-redis-directives.sh SERVER [CLI]    # a real server: redis-server, valkey-server, or a
#                                                    # wrapper (the Debian 13 root's host-bin/*-server)
#   scripts/list-redis-directives.sh --source GITDIR TAG   # src/config.c of a release tag (no server)
#   scripts/list-redis-directives.sh --all           # every server here and every mirrored tag the
#                                                    # tables use, each block headed "== ID SOURCE"
#
# Output: the names (aliases included), then "OLD -> NEW" for each alias, then "~NAME" for each name
# the release accepts in a config file and ignores.
#
# From a server: starts it on a free loopback port in a throwaway directory and asks CONFIG GET *;
# hidden configs (debug settings that CONFIG GET * leaves out, but a config file may set) are then
# asked for by exact name, taken from src/config.c of the nearest mirrored tag, whose aliases are kept
# where the server has both names (LATER_RENAMES are confirmed on the server by setting the old name).
# Each name that source lists and the server does not is tried in a config file of its own: one the
# server starts with is ignored (~). File-only directives (include, rename-command, user, loadmodule)
# are added by src/config/engine-directives.ts, not here.
#
# From source: every create*Config("name", "alias", ...) in the standardConfig table (aliases too, the
# LOG_REQ_RES test build's left out) and deprecated_configs[] as ignored.
#
# A server in the Debian 13 root (scripts/build-engines-root) sees only files under the root, so its
# throwaway directory is made in ROOT/tmp; the CLI defaults to the server's sibling *-cli.
set -euo pipefail

ROOT="${NEURALLOG_REDIS_ENGINES_ROOT:-/var/cache/neurallog-redis/debian13}"
# bare clones of redis/redis and valkey-io/valkey (for --source and hidden configs): by default in a
# .mirror folder beside this checkout
mirrors="$(cd "$(dirname "$0")/.." && pwd)/../.mirror"
REDIS_GIT="${NEURALLOG_REDIS_MIRROR:-$mirrors/redis+redis/repo}"
VALKEY_GIT="${NEURALLOG_VALKEY_MIRROR:-$mirrors/valkey-io+valkey/repo}"

# "NAME ALIAS" (ALIAS may be empty) for each entry of the standardConfig table of one src/config.c on
# stdin. Entries under `#ifdef LOG_REQ_RES` exist only in the request/response-logging test build.
config_c_entries() {
  awk '/^#ifdef LOG_REQ_RES/{skip=1; next} skip && /^#endif/{skip=0; next} !skip' |
    tr '\n' ' ' | grep -oE 'create[A-Za-z]+Config\("[^"]+", *("[^"]*"|NULL)' |
    sed -E 's/^create[A-Za-z]+Config\("([^"]+)", *("([^"]*)"|NULL)$/\1 \3/' | tr 'A-Z' 'a-z'
}

# Every name (and alias) of the table, sorted.
config_c_names() {
  config_c_entries | tr ' ' '\n' | grep -v '^$' | sort -u
}

# "~NAME" lines: deprecated_configs[], names a config file may still hold and the server ignores.
config_c_ignored() {
  awk '/deprecated_configs\[\] *= *\{/{p=1; next} p && /NULL/{p=0} p' | grep -oE '"[^"]+"' | tr -d '"' | tr 'A-Z' 'a-z' | sort -u | sed 's/^/~/'
}

# "ALIAS -> NAME" lines.
config_c_aliases() {
  config_c_entries | awk 'NF == 2 { print $2 " -> " $1 }' | sort -u
}

from_source() {
  local git="$1" tag="$2"
  git -C "$git" show "$tag:src/config.c" | config_c_names
  git -C "$git" show "$tag:src/config.c" | config_c_aliases
  git -C "$git" show "$tag:src/config.c" | config_c_ignored
}

# Whether SERVER starts with a config file holding "NAME yes" (ready to accept connections) rather
# than exiting (an unknown directive). Used for names CONFIG GET does not answer to.
starts_with() {
  local server="$1" parent="$2" name="$3" d p pid ok=1
  d=$(mktemp -d "$parent/nlr-directive-probe-XXXXXX")
  p=$(free_port)
  printf 'port %s\nbind 127.0.0.1\nsave ""\nappendonly no\ndir %s\n%s yes\n' "$p" "$d" "$name" > "$d/redis.conf"
  "$server" "$d/redis.conf" > "$d/out" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    if grep -q 'Ready to accept connections' "$d/out"; then ok=0; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$d"
  return $ok
}

# Integer settings a release renamed after the newest mirrored source of its line (old:new), checked on
# the server itself: Valkey 8.1's COMMANDLOG took over SLOWLOG's settings.
LATER_RENAMES="slowlog-log-slower-than:commandlog-execution-slower-than slowlog-max-len:commandlog-slow-execution-max-len"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# The mirrored tag whose config.c lists the names (hidden ones included) and aliases a server of this engine/version may have.
hidden_source_for() {
  local engine="$1" version="$2"
  local git tags best=""
  if [ "$engine" = valkey ]; then git="$VALKEY_GIT"; else git="$REDIS_GIT"; fi
  [ -d "$git" ] || return 0
  tags=$(git -C "$git" tag | grep -E '^[0-9]+\.[0-9]+\.[0-9]+$' | sort -V)
  for t in $tags; do
    if [ "$(printf '%s\n%s\n' "$t" "$version" | sort -V | head -1)" = "$t" ]; then best="$t"; fi
  done
  [ -n "$best" ] && echo "$git $best"
}

from_server() {
  local server="$1" cli="${2:-}"
  if [ -z "$cli" ]; then
    cli="$(dirname "$server")/$(basename "$server" | sed 's/-server$/-cli/')"
    [ -x "$cli" ] || cli=redis-cli
  fi
  local parent="${TMPDIR:-/tmp}"
  case "$server" in "$ROOT"/*) parent="$ROOT/tmp" ;; esac
  local dir port version engine
  dir=$(mktemp -d "$parent/nlr-directives-XXXXXX")
  port=$(free_port)
  # shellcheck disable=SC2064
  trap "'$cli' -p $port shutdown nosave >/dev/null 2>&1 || true; rm -rf '$dir'" EXIT
  "$server" --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" --daemonize yes --pidfile "$dir/p" --logfile "$dir/log" >/dev/null
  for _ in $(seq 100); do "$cli" -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  local listed
  listed=$("$cli" -p "$port" config get '*' | awk 'NR % 2 == 1')
  read -r engine version < <("$server" --version | sed -nE 's/^(Redis|Valkey) server v=([0-9.]+).*/\1 \2/p' | tr 'A-Z' 'a-z')
  # Hidden configs answer only to their exact name: ask for each name the nearest source knows.
  local src source_text="" exact=""
  src=$(hidden_source_for "$engine" "$version" || true)
  if [ -n "$src" ]; then
    source_text=$(git -C "${src% *}" show "${src#* }:src/config.c")
    exact=$(config_c_names <<<"$source_text" | sed 's/^/CONFIG GET /' | "$cli" --no-raw -p "$port" | sed -nE 's/^1\) "(.*)"$/\1/p')
  fi
  local names aliases
  names=$({ echo "$listed"; echo "$exact"; } | grep -v '^$' | sort -u)
  # aliases as the nearest source has them, where the server accepts both names
  aliases=$(config_c_aliases <<<"$source_text" | while read -r alias _ name; do
    if grep -qxF "$alias" <<<"$names" && grep -qxF "$name" <<<"$names"; then echo "$alias -> $name"; fi
  done)
  # renames newer than any mirrored source, confirmed here: setting the old name changes the new one
  local pair old new value
  for pair in $LATER_RENAMES; do
    old=${pair%%:*} new=${pair#*:}
    grep -qxF "$old" <<<"$names" && grep -qxF "$new" <<<"$names" || continue
    value=$("$cli" -p "$port" config get "$new" | sed -n 2p)
    "$cli" -p "$port" config set "$old" $((value + 7)) >/dev/null
    if [ "$("$cli" -p "$port" config get "$new" | sed -n 2p)" = $((value + 7)) ]; then aliases="$aliases"$'\n'"$old -> $new"; fi
  done
  "$cli" -p "$port" shutdown nosave >/dev/null 2>&1 || true
  trap - EXIT
  rm -rf "$dir"
  echo "$names"
  grep -v '^$' <<<"$aliases" | sort -u || true
  # names the server ignores: the nearest source's deprecated_configs and the settings it no longer
  # lists, each tried in a config file of its own
  local candidate
  for candidate in $( { config_c_ignored <<<"$source_text" | tr -d '~'; config_c_names <<<"$source_text" | grep -vxF -f <(echo "$names"); } | sort -u); do
    if starts_with "$server" "$parent" "$candidate"; then echo "~$candidate"; fi
  done
}

server_id() {
  "$1" --version | sed -nE 's/^(Redis|Valkey) server v=([0-9]+)\.([0-9]+)\.([0-9]+).*/\1-\2.\3 \1 \2.\3.\4/p' | sed 's/^Redis/redis/; s/^Valkey/valkey/'
}

all() {
  local servers=()
  command -v redis-server >/dev/null && servers+=("$(command -v redis-server)")
  for s in "$ROOT/host-bin/redis-server" "$ROOT/host-bin/valkey-server"; do
    [ -x "$s" ] && servers+=("$s")
  done
  for s in "${servers[@]}"; do
    read -r id title version < <(server_id "$s")
    echo "== $id server CONFIG GET * on $title $version ($s)"
    from_server "$s"
  done
  # releases no server here runs: src/config.c at the newest mirrored patch of the line
  local line git tag
  for line in redis:7.2 redis:7.4 valkey:7.2 valkey:8.0; do
    if [ "${line%%:*}" = valkey ]; then git="$VALKEY_GIT"; else git="$REDIS_GIT"; fi
    [ -d "$git" ] || continue
    tag=$(git -C "$git" tag | grep -E "^${line#*:}\.[0-9]+$" | sort -V | tail -1)
    [ -n "$tag" ] || continue
    echo "== ${line%%:*}-${line#*:} source src/config.c at ${line%%:*} $tag"
    from_source "$git" "$tag"
  done
}

case "${1:-}" in
  --all) all ;;
  --source)
    [ $# -eq 3 ] || { echo "usage: $0 --source GITDIR TAG" >&2; exit 2; }
    from_source "$2" "$3"
    ;;
  -h | --help | "")
    sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'
    [ -n "${1:-}" ] || exit 2
    ;;
  *) from_server "$1" "${2:-}" ;;
esac
