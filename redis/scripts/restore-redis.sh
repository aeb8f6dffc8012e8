#!/bin/bash
# Script to restore Redis data from backup (the guide's usage: restore-redis.sh <backup-file>).
# It calls the neurallog-redis CLI, which restores so that the data really comes back, also with
# appendonly yes (the guide's copy-to-dump.rdb procedure restores nothing while AOF is on).
#   REDIS_DIR    deployment directory made by `up`  (default .neurallog-redis)
#   REDIS_URL    connect by URL instead (password from REDIS_PASSWORD_FILE or NEURALLOG_REDIS_PASSWORD)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
CLI=${NEURALLOG_REDIS_CLI:-"$here/../../bin/neurallog-redis"}

if [ -z "${1:-}" ]; then
  echo "Usage: $0 <backup-file>"
  exit 1
fi
BACKUP_FILE="$1"
if [ ! -f "$BACKUP_FILE" ]; then
  echo "Error: Backup file not found: $BACKUP_FILE"
  exit 1
fi

if ! "$CLI" help restore >/dev/null 2>&1; then
  echo "Error: this version of neurallog-redis cannot restore yet (the restore command is not built);" >&2
  echo "nothing was changed." >&2
  exit 1
fi

target=(--dir "${REDIS_DIR:-.neurallog-redis}")
[ -n "${REDIS_URL:-}" ] && target=(--url "$REDIS_URL")
[ -n "${REDIS_PASSWORD_FILE:-}" ] && target+=(--password-file "$REDIS_PASSWORD_FILE")
"$CLI" restore "$BACKUP_FILE" "${target[@]}" --yes
echo "Redis restore completed successfully."
