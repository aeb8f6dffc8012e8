#!/usr/bin/env bash
# Runs the CLI for tests of scripts that call it, as test/helpers/run-cli.ts chooses: the built one
# (bin/neurallog-redis) when dist/bundle is no older than anything under src/ and the other build
# inputs (run-cli.ts's BUILD_INPUTS), else src/ through tsx.
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bundle="$root/dist/bundle/main.js"
inputs=("$root/src")
for f in package.json package-lock.json tsconfig.json tsconfig.build.json scripts/bundle-cli.mjs; do
  [ -e "$root/$f" ] && inputs+=("$root/$f")
done
if [ "${NEURALLOG_TEST_CLI:-}" != source ] && [ -f "$bundle" ] && [ -z "$(find "${inputs[@]}" -newer "$bundle" -print -quit)" ]; then
  exec "$root/bin/neurallog-redis" "$@"
fi
exec node --import tsx "$root/src/cli/main.ts" "$@"
