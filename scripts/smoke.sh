#!/usr/bin/env bash
# Smoke check of a deployed stack through its public gateway, run by deploy.yml after `pulumi up`:
#
#   SMOKE_ANON_KEY=<anonKey output> scripts/smoke.sh <gatewayUrl output>
#
# Checks, in order:
#   1. TLS: the URL is https, its certificate verifies (curl's CA bundle, or SMOKE_CA_FILE) and is
#      valid for at least SMOKE_CERT_MIN_DAYS more days (default 14);
#   2. health: GET /api/v1/health with the anon key answers 200 with "status":"ok" (the API reached
#      Postgres and Redis);
#   3. the gateway enforces keys: the same request without a key answers 401;
#   4. one authenticated API call: GET /rest/v1/ with the anon key answers 200 (Kong, PostgREST and
#      Postgres on the request path).
# Each request is retried SMOKE_ATTEMPTS times (default 10), SMOKE_DELAY seconds apart (default 6),
# because pods may still be rolling when `up` returns. Exit 0 when every check passes, 1 on a failed
# check, 2 on a usage error.
set -euo pipefail

RUNBOOK="docs/runbooks.md#rollback"
url="${1:-}"
key="${SMOKE_ANON_KEY:-}"
attempts="${SMOKE_ATTEMPTS:-10}"
delay="${SMOKE_DELAY:-6}"
min_days="${SMOKE_CERT_MIN_DAYS:-14}"
ca_file="${SMOKE_CA_FILE:-}"

usage() {
  echo "smoke: $1" >&2
  echo "usage: SMOKE_ANON_KEY=<key> [SMOKE_CA_FILE=<pem>] $0 https://<gateway host>" >&2
  exit 2
}
fail() {
  echo "smoke: FAILED: $1" >&2
  echo "smoke: the deploy is not healthy; roll back as described in ${RUNBOOK}" >&2
  exit 1
}

[ -n "$url" ] || usage "missing the gateway URL"
[ -n "$key" ] || usage "SMOKE_ANON_KEY is empty; pass the stack's anonKey output"
for n in "$attempts" "$delay" "$min_days"; do
  [[ "$n" =~ ^[0-9]+$ ]] || usage "SMOKE_ATTEMPTS, SMOKE_DELAY and SMOKE_CERT_MIN_DAYS must be whole numbers, got ${n}"
done
[ -z "$ca_file" ] || [ -r "$ca_file" ] || usage "SMOKE_CA_FILE ${ca_file} is not a readable file"
url="${url%/}"

# 1. TLS
[[ "$url" =~ ^https://([^/:]+)(:([0-9]+))?$ ]] || fail "gateway URL ${url} is not https://host[:port]; the gateway serves TLS only"
host="${BASH_REMATCH[1]}"
port="${BASH_REMATCH[3]:-443}"

curl_args=(--silent --show-error --max-time 10 --proto '=https' --tlsv1.2)
[ -z "$ca_file" ] || curl_args+=(--cacert "$ca_file")

sni=(-servername "$host")
[[ "$host" =~ ^[0-9.]+$ ]] && sni=()
cert="$(openssl s_client -connect "${host}:${port}" "${sni[@]}" </dev/null 2>/dev/null | openssl x509 2>/dev/null)" ||
  fail "no TLS certificate from ${host}:${port}"
if ! openssl x509 -noout -checkend "$((min_days * 86400))" <<<"$cert" >/dev/null; then
  fail "the certificate of ${host} expires within ${min_days} days ($(openssl x509 -noout -enddate <<<"$cert")); renew it"
fi

# status_of <path> [curl args...]: the HTTP status of a GET, or 000 when no TLS connection verified.
# The body goes to $body_file.
body_file="$(mktemp)"
trap 'rm -f "$body_file" "${body_file}.err"' EXIT
status_of() {
  local path="$1"
  shift
  curl "${curl_args[@]}" --output "$body_file" --write-out '%{http_code}' "$@" "${url}${path}" 2>"${body_file}.err" || true
}

# expect <want> <what> <path> [curl args...]: retries until the status is <want>.
expect() {
  local want="$1" what="$2" path="$3" got=""
  shift 3
  for ((i = 1; i <= attempts; i++)); do
    got="$(status_of "$path" "$@")"
    [ "$got" = "$want" ] && return 0
    [ "$i" -lt "$attempts" ] && sleep "$delay"
  done
  if [ "$got" = "000" ]; then
    fail "${what}: no verified TLS connection to ${url}${path}: $(cat "${body_file}.err")"
  fi
  fail "${what}: GET ${path} answered ${got}, expected ${want}: $(head -c 300 "$body_file")"
}

expect 200 "health" /api/v1/health -H "apikey: ${key}"
grep -q '"status":"ok"' "$body_file" || fail "health: /api/v1/health did not report status ok: $(head -c 300 "$body_file")"
echo "smoke: health ok"
expect 401 "gateway key enforcement" /api/v1/health
echo "smoke: the gateway refuses requests without a key"
expect 200 "authenticated API call" /rest/v1/ -H "apikey: ${key}" -H "Authorization: Bearer ${key}"
echo "smoke: authenticated API call ok"
echo "smoke: ${url} passed (TLS certificate valid for ${min_days}+ days)"
