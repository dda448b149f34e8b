/**
 * Generic rules, each defined once: the stack config, components and the policy pack call these
 * instead of keeping their own copies. Every function is pure. A `checkX` returns a problem
 * description that completes "<key>: <value> ..." (or undefined when the value is fine) and never
 * echoes a secret; the caller names the key and the value.
 */

import { CANADIAN_REGIONS, ManagedCloud } from "./schema";

// ---------------------------------------------------------------------------------------------
// Names

/** The longest DNS label (RFC 1123), and so the longest Kubernetes namespace or object name. */
export const DNS_LABEL_MAX = 63;

/**
 * The DNS-label rule Kubernetes applies to namespaces and most object names (RFC 1123): lower-case
 * letters, digits and '-', starting and ending with a letter or digit, at most `maxLength`
 * characters. `startsWithLetter` adds RFC 1035's rule, which Service names follow.
 */
export function dnsLabel(maxLength = DNS_LABEL_MAX, options: { readonly startsWithLetter?: boolean } = {}): RegExp {
  return new RegExp(`^${labelSource(maxLength, options.startsWithLetter ?? false)}$`);
}

function labelSource(maxLength: number, startsWithLetter: boolean): string {
  return `${startsWithLetter ? "[a-z]" : "[a-z0-9]"}([-a-z0-9]{0,${maxLength - 2}}[a-z0-9])?`;
}

/** A Kubernetes name such as a namespace: lower-case letters, digits and '-', at most 63. */
export const DNS_LABEL = dnsLabel();

/** A DNS host name (and a Kubernetes Secret name): dot-separated DNS labels, at most 253 characters. */
export const HOSTNAME = new RegExp(
  `^(?=.{1,253}$)(${labelSource(DNS_LABEL_MAX, false)})(\\.${labelSource(DNS_LABEL_MAX, false)})*$`,
);

/**
 * A workload's name, which its Kubernetes Service also takes (RFC 1035): at most 52 characters, so
 * that the Jobs of a cron workload (its name and an 11-character suffix) stay within 63.
 */
export const WORKLOAD_NAME = dnsLabel(52, { startsWithLetter: true });

/** The name of an extra API service (northstack:services), short enough for the names built from it. */
export const SERVICE_NAME = dnsLabel(30, { startsWithLetter: true });

/** A lower-case, unquoted SQL identifier Postgres keeps whole (at most 63 bytes). */
export const SQL_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** An EKS cluster name: letters, digits, '-' and '_', starting alphanumeric, at most 100. */
export const EKS_CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;

// ---------------------------------------------------------------------------------------------
// Addresses and references

/** Returns a problem description, or undefined for a valid IPv4 CIDR such as 10.0.0.0/16. */
export function checkCidr(value: string): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value);
  if (!m) return "is not an IPv4 CIDR like 10.0.0.0/16";
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255)) return "has an octet above 255";
  if (prefix > 32) return "has a prefix length above 32";
  const address = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
  const hostMask = prefix === 0 ? 0xffffffff : (2 ** (32 - prefix) - 1) >>> 0;
  if ((address & hostMask) !== 0) return "has host bits set for its prefix length";
  return undefined;
}

/** Returns a problem description, or undefined for an http or https URL. */
export function checkUrl(value: string): string | undefined {
  try {
    const u = new URL(value);
    if (u.protocol !== "http:" && u.protocol !== "https:") return "must be an http(s) URL";
    return undefined;
  } catch {
    return "is not a URL";
  }
}

/**
 * Why a URL that Alertmanager calls or a notification links to is unusable, or undefined: it must be
 * https (the request leaves the cluster), and carry no user name or password, which would sit in
 * plain sight in every rendered link and log line; services put their token in the path instead.
 */
export function checkNotificationUrl(value: string): string | undefined {
  if (checkUrl(value) || !value.startsWith("https://")) return "is not an https:// URL";
  const u = new URL(value);
  if (u.username || u.password) return "has a user name or password in it";
  return undefined;
}

/** Why an origin may carry nothing but scheme, host and port, for the origin checks' messages. */
interface OriginUse {
  /** An origin to copy, e.g. "https://api.example.ca". */
  readonly example: string;
  /** Why a user name or password is refused. */
  readonly noCredentials: string;
  /** Why a path, query or fragment is refused. */
  readonly originOnly: string;
}

/**
 * Returns a problem description, or undefined for an origin: http or https; no user name or
 * password; a DNS host name whose labels are at most 63 characters, an IPv4 address or a bracketed
 * IPv6 one; an optional port; and nothing after the authority but "/".
 */
function checkOrigin(value: string, use: OriginUse): string | undefined {
  const problem = checkUrl(value);
  if (problem) return `${problem}; use an origin like ${use.example}`;
  const u = new URL(value);
  if (u.username || u.password)
    return `contains a user name or password; give the origin only, like ${use.example} (${use.noCredentials})`;
  if (!u.hostname.startsWith("[") && !HOSTNAME.test(u.hostname)) {
    const longest = Math.max(...u.hostname.split(".").map((l) => l.length));
    const why =
      longest > DNS_LABEL_MAX ? `has a host label of ${longest} characters` : "has a host that is not a DNS host name";
    return `${why}; a host name is labels of 1 to ${DNS_LABEL_MAX} lower-case letters, digits and '-', at most 253 characters in all`;
  }
  if (u.pathname !== "/" || u.search || u.hash || /[?#]$/.test(value)) {
    return `has a path, query or fragment; give the origin only, like ${use.example} (${use.originOnly})`;
  }
  return undefined;
}

/**
 * Returns a problem description, or undefined for a URL that can be the gateway's public origin (see
 * checkOrigin). A credential in a public URL leaks into every output and client; a Kubernetes
 * Ingress and a TLS certificate refuse host labels over 63 characters; and the gateway serves its
 * routes (/auth/v1, /rest/v1, ...) at the root, so a path prefix, a query or a fragment would make
 * every derived URL wrong.
 */
export function checkGatewayOrigin(value: string): string | undefined {
  return checkOrigin(value, {
    example: "https://api.example.ca",
    noCredentials: "credentials do not belong in a public URL",
    originOnly: "the gateway serves its routes at the root",
  });
}

/**
 * Returns a problem description, or undefined for an origin the gateway's CORS plugin can match: a
 * browser's Origin header is scheme, host and port, never credentials or a path, so an entry with
 * either would match no browser (and a credential in it would sit in plain config).
 */
export function checkCorsOrigin(value: string): string | undefined {
  return checkOrigin(value, {
    example: "https://app.example.ca",
    noCredentials: "a browser's Origin header never carries credentials, so this would match nothing",
    originOnly: "a browser's Origin header is scheme, host and port only",
  });
}

/** The URL with any user name and password replaced, so that a message can echo it. */
export function withoutUserinfo(value: string): string {
  return value.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#]*@/, "$1[credentials]@");
}

const IMAGE_REF =
  /^(?:[a-z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::([\w][\w.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$/;

/** Returns a problem description, or undefined when the image reference is pinned. */
export function checkPinnedImage(ref: string): string | undefined {
  const m = IMAGE_REF.exec(ref);
  if (!m) return "is not a valid image reference (expected registry/name:tag or name@sha256:<digest>)";
  const [, tag, digest] = m;
  if (digest) return undefined;
  if (!tag) return "has no tag; pin a version tag or a sha256 digest";
  if (tag === "latest") return "uses the mutable tag 'latest'; pin a version tag or a sha256 digest";
  return undefined;
}

/** Returns a problem description, or undefined when the region is one of the cloud's Canadian regions. */
export function checkRegion(cloud: ManagedCloud, region: string): string | undefined {
  const allowed = CANADIAN_REGIONS[cloud].allowed;
  if (allowed.includes(region)) return undefined;
  return `is outside Canada; allowed ${cloud} regions: ${allowed.join(", ")}`;
}

// ---------------------------------------------------------------------------------------------
// Object storage

/**
 * Returns a problem description, or undefined for an S3 bucket name: 3 to 63 lower-case letters,
 * digits, '.' and '-', starting and ending with a letter or digit, no "..", not an IPv4 address,
 * and none of the prefixes and suffixes S3 reserves.
 */
export function checkBucketName(value: string): string | undefined {
  const allowed = "use 3 to 63 lower-case letters, digits, '.' and '-', starting and ending with a letter or digit";
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(value)) return `is not a bucket name; ${allowed}`;
  if (value.includes("..")) return `has two dots in a row; ${allowed}`;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(value)) return `is an IP address, which S3 refuses as a bucket name; ${allowed}`;
  if (/^(xn--|sthree-|amzn-s3-demo-)/.test(value) || /(-s3alias|--ol-s3|\.mrap|--x-s3)$/.test(value))
    return `uses a prefix or suffix S3 reserves; ${allowed}`;
  return undefined;
}

/**
 * Returns a problem description, or undefined for an object-storage endpoint as host[:port]: a DNS
 * host name or IPv4 address and an optional port 1-65535, without a scheme (the client picks https),
 * user name, password or path. Credentials go in their own secret keys.
 */
export function checkEndpoint(value: string): string | undefined {
  const example = "e.g. s3.ca-central-1.amazonaws.com or minio.lan:9000";
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value)) return `has a scheme; give host[:port] only, ${example}`;
  if (value.includes("@"))
    return `has a user name or password; give host[:port] only (credentials go in their own secret keys), ${example}`;
  const m = /^([^:/]+)(?::(\d{1,5}))?$/.exec(value);
  if (!m) return `is not host[:port]; give a host name or IPv4 address and an optional port, ${example}`;
  const [, host, port] = m;
  const ipv4 = /^\d{1,3}(\.\d{1,3}){3}$/.test(host);
  if (ipv4 ? host.split(".").some((o) => Number(o) > 255) : !HOSTNAME.test(host))
    return `has a host that is neither a DNS host name nor an IPv4 address; ${example}`;
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return "has a port outside 1-65535";
  return undefined;
}

/**
 * Which managed cloud serves an endpoint's host, so that its region must be Canadian; undefined for
 * any other store (MinIO on a LAN), whose location the operator answers for.
 */
export function endpointCloud(host: string): ManagedCloud | undefined {
  if (/(^|\.)amazonaws\.com$/.test(host)) return "aws";
  if (/(^|\.)googleapis\.com$/.test(host)) return "gcp";
  return undefined;
}

/**
 * The region an AWS S3 endpoint names (s3.<region>.amazonaws.com, s3-<region>, s3.dualstack.<region>,
 * with or without a bucket in front); "us-east-1" for the global s3.amazonaws.com, which serves that region.
 */
export function awsEndpointRegion(host: string): string | undefined {
  if (/(^|\.)s3\.amazonaws\.com$/.test(host)) return "us-east-1";
  return /(?:^|\.)s3[.-](?:dualstack\.|fips\.)*([a-z]{2}(?:-gov)?-[a-z]+-\d)\.amazonaws\.com$/.exec(host)?.[1];
}

// ---------------------------------------------------------------------------------------------
// Credentials and environment

/**
 * ElastiCache auth-token rules (also safe unquoted in the dev container's redis.conf). Returns a
 * problem description, or undefined; never echoes the value.
 */
export function checkRedisPassword(value: string): string | undefined {
  if (value.length < 16 || value.length > 128) return "must be 16 to 128 characters (ElastiCache auth-token rules)";
  if (!/^[\x21-\x7e]*$/.test(value)) return "must be printable ASCII without spaces (ElastiCache auth-token rules)";
  if (/[/"@]/.test(value)) return 'must not contain /, " or @ (ElastiCache auth-token rules)';
  if (/['\\]/.test(value)) return "must not contain ' or \\ (the dev container's redis.conf cannot hold them)";
  return undefined;
}

/** RDS master-password rules. Returns a problem description, or undefined; never echoes the value. */
export function checkPostgresPassword(value: string): string | undefined {
  if (value.length < 8 || value.length > 128) return "must be 8 to 128 characters (RDS master-password rules)";
  if (!/^[\x20-\x7e]*$/.test(value)) return "must be printable ASCII (RDS master-password rules)";
  if (/[/"@ ]/.test(value)) return 'must not contain /, ", @ or a space (RDS master-password rules)';
  return undefined;
}

/** The environment ApiService sets itself; northstack:apiEnv and apiSecretEnv must not override it. */
export const API_PLATFORM_ENV = [
  "PORT",
  "NODE_ENV",
  "NODE_EXTRA_CA_CERTS",
  "DATABASE_URL",
  "REDIS_URL",
  "JWT_SECRET",
] as const;

/** A POSIX environment variable name the platform does not set itself (API_PLATFORM_ENV). */
export function checkApiEnvName(name: string): string | undefined {
  if (!/^[A-Z_][A-Z0-9_]*$/.test(name)) return "is not a POSIX environment variable name; allowed: [A-Z_][A-Z0-9_]*";
  if ((API_PLATFORM_ENV as readonly string[]).includes(name)) {
    return `would override ${name}, which the platform sets; not allowed: ${API_PLATFORM_ENV.join(", ")}`;
  }
  return undefined;
}

/**
 * Names that mark a credential: PASSWORD, PASSWD, SECRET, TOKEN, KEY or CREDENTIAL(S) alone or as
 * the last `_` part (DB_PASSWORD, STRIPE_API_KEY, API_KEYS), in any case. AWS_ACCESS_KEY_ID is a
 * name, not a secret, and passes; MONKEY is one word and passes.
 */
export const CREDENTIAL_ENV_NAME = /(^|_)(PASSWORDS?|PASSWD|SECRETS?|TOKENS?|KEYS?|CREDENTIALS?)$/i;

/**
 * A plain (non-secret) environment entry that holds a credential: a credential-looking name
 * (CREDENTIAL_ENV_NAME), or a URL value with a user name or password (postgres://app:pw@db/app).
 * Plain values are stored unencrypted in the stack file and shown by every plan. Returns a problem
 * description that completes "<key>: <entry> ...", or undefined; `secretKey` is where it belongs.
 */
export function checkPlainEnvEntry(name: string, value: string, secretKey: string): string | undefined {
  const move = `set it in ${secretKey} instead: pulumi config set --secret --path '${secretKey}.${name}' <value>`;
  if (CREDENTIAL_ENV_NAME.test(name))
    return `looks like a credential (its name ends in PASSWORD, SECRET, TOKEN, KEY or CREDENTIALS), and plain values are stored and shown in clear text; ${move}`;
  if (urlHasUserinfo(value))
    return `carries a user name or password in its URL, and plain values are stored and shown in clear text; ${move}`;
  return undefined;
}

/** An entry as a message may echo it: a credential-looking name hides its value, a URL its userinfo. */
export function showPlainEnvEntry(name: string, value: string): string {
  if (CREDENTIAL_ENV_NAME.test(name)) return `${name}=[secret of ${value.length} chars]`;
  // Up to the last "@": a password may hold "/" where a URL parser would end the authority.
  return `${name}=${urlHasUserinfo(value) ? value.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)\S*@/, "$1[credentials]@") : value}`;
}

function urlHasUserinfo(value: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value)) return false;
  try {
    const u = new URL(value);
    return u.username !== "" || u.password !== "";
  } catch {
    // Not a WHATWG URL (e.g. a DSN with an unescaped '/' in the password): judge the authority.
    return /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s]*@/.test(value);
  }
}

// ---------------------------------------------------------------------------------------------
// Rules that both the stack config and a component enforce

/** Supabase Studio reads the database through postgres-meta, so Studio without meta cannot work. */
export function studioLacksMeta(services: { readonly studio: boolean; readonly meta: boolean }): boolean {
  return services.studio && !services.meta;
}

/**
 * Whether Prometheus's retention size cap fits its volume: compaction writes a new block before it
 * deletes the old ones, so the cap may use at most 80 % of the volume. Undefined when it fits, else
 * what is wrong and the largest cap that fits.
 */
export function retentionSizeProblem(sizeGb: number, volumeGb: number): string | undefined {
  const largest = Math.floor(volumeGb * 0.8);
  if (sizeGb <= largest) return undefined;
  return `does not fit a ${volumeGb} GB Prometheus volume; at most ${largest} (80 %, leaving room for compaction), or a larger volume`;
}

/**
 * The gateway certificate comes from exactly one source: a cert-manager ClusterIssuer (which writes
 * its own Secret) or the operator's kubernetes.io/tls Secret. Empty or absent counts as not given.
 * Returns "none" or "both" when that does not hold, or undefined when one source is given.
 */
export function certificateSourceProblem(
  certManagerIssuer: string | undefined,
  tlsSecretName: string | undefined,
): "none" | "both" | undefined {
  if (certManagerIssuer && tlsSecretName) return "both";
  if (!certManagerIssuer && !tlsSecretName) return "none";
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Spelling

/** Levenshtein distance between two strings, by UTF-16 code unit; `ignoreCase` compares units lower-cased. */
export function editDistance(a: string, b: string, options: { readonly ignoreCase?: boolean } = {}): number {
  const same = options.ignoreCase
    ? (x: string, y: string) => x.toLowerCase() === y.toLowerCase()
    : (x: string, y: string) => x === y;
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (same(a[i - 1], b[j - 1]) ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/**
 * The candidate nearest to `word` by edit distance, ties going to the earlier candidate; undefined
 * when there are none or the nearest is further than `maxDistance` (default: no limit).
 */
export function closestMatch(
  word: string,
  candidates: readonly string[],
  options: { readonly maxDistance?: number; readonly ignoreCase?: boolean } = {},
): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c, options);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return bestDistance <= (options.maxDistance ?? Infinity) ? best : undefined;
}
