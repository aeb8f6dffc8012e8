# Sourced by backup-redis.sh and restore-redis.sh: finds the CLI and says which server to use.
#   NEURALLOG_REDIS_CLI  the CLI to run       (default: this checkout's bin/neurallog-redis)
#   REDIS_DIR            deployment made by `up` (default .neurallog-redis)
#   REDIS_URL            connect by URL instead (password from REDIS_PASSWORD_FILE or NEURALLOG_REDIS_PASSWORD)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CLI=${NEURALLOG_REDIS_CLI:-"$here/../../bin/neurallog-redis"}
target=(--dir "${REDIS_DIR:-.neurallog-redis}")
[ -n "${REDIS_URL:-}" ] && target=(--url "$REDIS_URL")
[ -n "${REDIS_PASSWORD_FILE:-}" ] && target+=(--password-file "$REDIS_PASSWORD_FILE")

# require_command NAME CONSEQUENCE: refuse honestly when this CLI lacks a command
require_command() {
  if ! "$CLI" help "$1" >/dev/null 2>&1; then
    echo "Error: this version of neurallog-redis has no $1 command; $2." >&2
    exit 1
  fi
}
