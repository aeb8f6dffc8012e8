#!/usr/bin/env bash
# The CLI for scripts under test: the built one (bin/neurallog-redis) when the test chose it
# (NEURALLOG_TEST_CLI=built, set by run-cli.ts's cliScriptEnv), else src/ through tsx.
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[ "${NEURALLOG_TEST_CLI:-}" = built ] && exec "$root/bin/neurallog-redis" "$@"
exec node --import tsx "$root/src/cli/main.ts" "$@"
