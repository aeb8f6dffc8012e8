#!/usr/bin/env bash
# Runs the CLI for tests of scripts that call it, as test/helpers/run-cli.ts chooses: the built one
# (bin/neurallog-redis) when dist/bundle is newer than every file under src/, else src/ through tsx.
here=$(cd "$(dirname "$0")" && pwd)
root="$here/../.."
bundle="$root/dist/bundle/main.js"
if [ "${NEURALLOG_TEST_CLI:-}" != source ] && [ -f "$bundle" ] && [ -z "$(find "$root/src" -newer "$bundle" -type f -print -quit)" ]; then
  exec "$root/bin/neurallog-redis" "$@"
fi
exec node --import tsx "$root/src/cli/main.ts" "$@"
