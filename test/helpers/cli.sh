#!/usr/bin/env bash
# Runs the CLI from source (through tsx), for tests of scripts that call the CLI.
here=$(cd "$(dirname "$0")" && pwd)
exec node --import tsx "$here/../../src/cli/main.ts" "$@"
