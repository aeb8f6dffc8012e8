#!/bin/bash
# Script to backup Redis data (the guide's usage: no arguments; BACKUP_DIR=/backups by default).
# It calls the neurallog-redis CLI, which pulls the RDB over the replication protocol instead of
# running SAVE and copying /data/dump.rdb.
#   BACKUP_DIR   where backups go                   (default /backups)
#   REDIS_DIR    deployment directory made by `up`  (default .neurallog-redis)
#   REDIS_URL    connect by URL instead (password from REDIS_PASSWORD_FILE or NEURALLOG_REDIS_PASSWORD)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
CLI=${NEURALLOG_REDIS_CLI:-"$here/../../bin/neurallog-redis"}
BACKUP_DIR=${BACKUP_DIR:-/backups}

if ! "$CLI" help backup >/dev/null 2>&1; then
  echo "Error: this version of neurallog-redis cannot take backups yet (the backup command is not built);" >&2
  echo "no backup was made." >&2
  exit 1
fi

target=(--dir "${REDIS_DIR:-.neurallog-redis}")
[ -n "${REDIS_URL:-}" ] && target=(--url "$REDIS_URL")
[ -n "${REDIS_PASSWORD_FILE:-}" ] && target+=(--password-file "$REDIS_PASSWORD_FILE")
mkdir -p "$BACKUP_DIR"
BACKUP_FILE=$("$CLI" backup "${target[@]}" --to "$BACKUP_DIR")
echo "Redis backup created: $BACKUP_FILE"
