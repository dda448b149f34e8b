import { createHmac, timingSafeEqual } from "crypto";

/** Claims of a Supabase-style JWT; `role` selects the Postgres role PostgREST switches to. */
export interface JwtClaims {
  readonly [claim: string]: unknown;
}

const base64url = (data: string | Buffer): string => Buffer.from(data).toString("base64url");

/** Signs `claims` as a compact HS256 JWT. Pure: the same claims and secret give the same token. */
export function signHs256(claims: JwtClaims, secret: string): string {
  if (secret.length < 32)
    throw new Error(`jwt secret has ${secret.length} characters; at least 32 are required for HS256`);
  const signingInput = `${base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${base64url(JSON.stringify(claims))}`;
  const signature = createHmac("sha256", secret).update(signingInput).digest("base64url");
  return `${signingInput}.${signature}`;
}

/** Verifies an HS256 token's signature and `exp`/`nbf`, returning its claims; throws when it is not valid. */
export function verifyHs256(token: string, secret: string, nowSeconds = Math.floor(Date.now() / 1000)): JwtClaims {
  const parts = token.split(".");
  if (parts.length !== 3) throw new Error("jwt is not three dot-separated parts");
  const [header, payload, signature] = parts;
  const alg = (JSON.parse(Buffer.from(header, "base64url").toString()) as { alg?: unknown }).alg;
  if (alg !== "HS256") throw new Error(`jwt alg ${JSON.stringify(alg)} is not HS256`);
  const expected = createHmac("sha256", secret).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw new Error("jwt signature does not match");
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as JwtClaims;
  if (typeof claims.exp === "number" && claims.exp <= nowSeconds) throw new Error("jwt has expired");
  if (typeof claims.nbf === "number" && claims.nbf > nowSeconds) throw new Error("jwt is not valid yet");
  return claims;
}

/** Ten years: the anon and service_role keys are long-lived API keys, rotated by rotating the JWT secret. */
export const SUPABASE_KEY_LIFETIME_SECONDS = 10 * 365 * 24 * 3600;

/**
 * The claims of a Supabase API key for `role` (anon or service_role). `issuedAt` is fixed by the
 * caller so that the key, and so the deployment, does not change on every run.
 */
export function supabaseKeyClaims(role: "anon" | "service_role", issuedAt: number): JwtClaims {
  return { iss: "supabase", role, iat: issuedAt, exp: issuedAt + SUPABASE_KEY_LIFETIME_SECONDS };
}

/**
 * Derives a stable sub-key (hex, `length` characters) for a service that needs its own secret
 * (Realtime's SECRET_KEY_BASE, postgres-meta's crypto key) from the JWT secret, so that no extra
 * secret has to be generated and stored.
 */
export function deriveKey(secret: string, purpose: string, length: number): string {
  const hex = createHmac("sha256", secret).update(`northstack:${purpose}`).digest("hex");
  if (length > hex.length) throw new Error(`deriveKey length ${length} is above ${hex.length}`);
  return hex.slice(0, length);
}
