#!/bin/bash
# Script to restore Redis data from backup (the guide's usage: restore-redis.sh <backup-file>).
# It calls the neurallog-redis CLI, which restores so that the data really comes back, also with
# appendonly yes (the guide's copy-to-dump.rdb procedure restores nothing while AOF is on).
#   REDIS_DIR    deployment directory made by `up`  (default .neurallog-redis)
#   REDIS_URL    connect by URL instead (password from REDIS_PASSWORD_FILE or NEURALLOG_REDIS_PASSWORD)
set -euo pipefail
. "$(dirname "$0")/neurallog-target.sh"

if [ -z "${1:-}" ]; then
  echo "Usage: $0 <backup-file>"
  exit 1
fi
BACKUP_FILE="$1"
if [ ! -f "$BACKUP_FILE" ]; then
  echo "Error: Backup file not found: $BACKUP_FILE"
  exit 1
fi

require_command restore "nothing was changed"

"$CLI" restore "$BACKUP_FILE" "${target[@]}" --yes
echo "Redis restore completed successfully."
