#!/usr/bin/env bash
# Brings the dev stack up on the local Docker engine: `npm run dev:up` (extra args go to `pulumi up`).
# State is kept in .pulumi-state/ under the repository (git-ignored); no cloud account is needed.
# The dev stack needs no secret config: every password is generated and kept in that state.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in node npm docker pulumi; do
  command -v "$tool" >/dev/null || { echo "dev:up needs $tool on PATH (prerequisites: Node 20+, Docker, the Pulumi CLI)" >&2; exit 1; }
done
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || { echo "dev:up: node $(node --version) is too old; the project needs Node 20 or newer" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "dev:up: the Docker engine is not reachable (is it running?)" >&2; exit 1; }
[ -d node_modules ] || npm ci --no-audit --no-fund

mkdir -p .pulumi-state
export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  # A per-checkout passphrase for the local secrets provider, readable only by you.
  [ -f .pulumi-state/passphrase ] || (umask 077 && head -c 32 /dev/urandom | base64 > .pulumi-state/passphrase)
  export PULUMI_CONFIG_PASSPHRASE_FILE="$PWD/.pulumi-state/passphrase"
fi

# --create makes the stack on first use; unlike `select || init`, a real failure (a wrong
# passphrase, an unreadable state directory) is reported as itself.
pulumi stack select dev --create --secrets-provider passphrase --non-interactive
pulumi up --stack dev --yes --non-interactive --policy-pack policy --policy-pack-config policy/config.dev.json "$@"
pulumi stack output --stack dev
