#!/usr/bin/env bash
# Brings the dev stack up on the local Docker engine: `npm run dev:up` (extra args go to `pulumi up`).
# State is kept in .pulumi-state/ under the repository (git-ignored); no cloud account is needed.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in node docker pulumi; do
  command -v "$tool" >/dev/null || { echo "dev:up needs $tool on PATH (prerequisites: Node 20+, Docker, the Pulumi CLI)" >&2; exit 1; }
done
docker info >/dev/null 2>&1 || { echo "dev:up: the Docker engine is not reachable (is it running?)" >&2; exit 1; }
[ -d node_modules ] || npm ci --no-audit --no-fund

mkdir -p .pulumi-state
export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  # A per-checkout passphrase for the local secrets provider, readable only by you.
  [ -f .pulumi-state/passphrase ] || (umask 077 && head -c 32 /dev/urandom | base64 > .pulumi-state/passphrase)
  export PULUMI_CONFIG_PASSPHRASE_FILE="$PWD/.pulumi-state/passphrase"
fi

pulumi stack select dev 2>/dev/null || pulumi stack init dev --secrets-provider passphrase
pulumi up --stack dev --yes --policy-pack policy --policy-pack-config policy/config.dev.json "$@"
pulumi stack output --stack dev
