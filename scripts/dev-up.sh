#!/usr/bin/env bash
# Brings the dev stack up on the local Docker engine: `npm run dev:up` (extra args go to `pulumi up`).
# State is kept in .pulumi-state/ under the repository (git-ignored); no cloud account is needed.
# The dev stack needs no secret config: every password is generated and kept in that state.
set -euo pipefail
cd "$(dirname "$0")/.."

# Every missing prerequisite is reported at once, each with where to get it.
problems=()
need() { problems+=("$1"); }
if ! command -v node >/dev/null; then
  need "node is not on PATH: install Node 20 or newer (nvm, or the installers at nodejs.org)"
elif [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  need "node $(node --version) is too old: the project needs Node 20 or newer (nvm install 20)"
fi
command -v npm >/dev/null || need "npm is not on PATH: it comes with Node.js"
if ! command -v docker >/dev/null; then
  need "docker is not on PATH: install Docker Engine (Linux) or Docker Desktop (macOS, Windows), see docs.docker.com/get-docker"
elif ! driver=$(docker info --format '{{.CgroupDriver}}' 2>/dev/null); then
  need "the Docker engine is not reachable: start it (systemctl start docker, or open Docker Desktop) and check that you may use its socket"
elif [ "$driver" != systemd ] && [ "$driver" != cgroupfs ]; then
  need "the Docker engine reports cgroup driver '${driver}'; the dev stack supports systemd and cgroupfs (docker info --format '{{.CgroupDriver}}')"
fi
# The SDK in package.json needs a CLI at least as new as itself (the job gate uses a built-in resource).
sdk="$(sed -n 's/.*"@pulumi\/pulumi": *"\([0-9.]*\)".*/\1/p' package.json | head -n 1)"
if ! command -v pulumi >/dev/null; then
  need "pulumi is not on PATH: install the Pulumi CLI ${sdk:-3}+ (curl -fsSL https://get.pulumi.com | sh, or brew install pulumi/tap/pulumi)"
elif [ -n "$sdk" ]; then
  cli="$(pulumi version 2>/dev/null | sed 's/^v//')"
  if [ "$(printf '%s\n%s\n' "$sdk" "$cli" | sort -V | head -n 1)" != "$sdk" ]; then
    need "the Pulumi CLI is ${cli:-of unknown version}, older than the SDK's ${sdk}: upgrade it (rerun its installer, or brew upgrade pulumi)"
  fi
fi
if [ "${#problems[@]}" -gt 0 ]; then
  echo "dev:up cannot start; missing prerequisites:" >&2
  printf '  - %s\n' "${problems[@]}" >&2
  exit 1
fi
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
# Each container's cgroup parent, which cAdvisor names containers by, is written for the engine's
# driver: take it from the engine. Unset, the key is the schema's default, systemd.
if [ "$(pulumi config get northstack:dockerCgroupDriver --stack dev 2>/dev/null || echo systemd)" != "$driver" ]; then
  pulumi config set northstack:dockerCgroupDriver "$driver" --stack dev
  echo "dev:up: northstack:dockerCgroupDriver set to ${driver}, the engine's (docker info)"
fi
pulumi up --stack dev --yes --non-interactive --policy-pack policy --policy-pack-config policy/config.dev.json "$@"
pulumi stack output --stack dev
