#!/bin/bash
# Script to backup Redis data (the guide's usage: no arguments; BACKUP_DIR=/backups by default).
# It calls the neurallog-redis CLI, which pulls the RDB over the replication protocol instead of
# running SAVE and copying /data/dump.rdb.
#   BACKUP_DIR   where backups go                   (default /backups)
#   REDIS_DIR    deployment directory made by `up`  (default .neurallog-redis)
#   REDIS_URL    connect by URL instead (password from REDIS_PASSWORD_FILE or NEURALLOG_REDIS_PASSWORD)
set -euo pipefail
. "$(dirname "$0")/neurallog-target.sh"
BACKUP_DIR=${BACKUP_DIR:-/backups}
require_command backup "no backup was made"

mkdir -p "$BACKUP_DIR"
BACKUP_FILE=$("$CLI" backup "${target[@]}" --to "$BACKUP_DIR")
echo "Redis backup created: $BACKUP_FILE"
