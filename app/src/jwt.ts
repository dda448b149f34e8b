import { createHmac, timingSafeEqual } from "crypto";

export type Claims = Record<string, unknown>;

export class InvalidTokenError extends Error {}

/** Verifies a compact HS256 JWT (signature, exp, nbf) and returns its claims. */
export function verifyJwt(token: string, secret: string, nowSeconds = Math.floor(Date.now() / 1000)): Claims {
  const parts = token.split(".");
  if (parts.length !== 3) throw new InvalidTokenError("malformed token");
  const [header, payload, signature] = parts;
  let alg: unknown;
  let claims: Claims;
  try {
    alg = (JSON.parse(Buffer.from(header, "base64url").toString()) as Claims).alg;
    claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as Claims;
  } catch {
    throw new InvalidTokenError("malformed token");
  }
  if (alg !== "HS256") throw new InvalidTokenError("unsupported algorithm");
  const expected = createHmac("sha256", secret).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw new InvalidTokenError("bad signature");
  if (typeof claims.exp === "number" && claims.exp <= nowSeconds) throw new InvalidTokenError("token expired");
  if (typeof claims.nbf === "number" && claims.nbf > nowSeconds) throw new InvalidTokenError("token not yet valid");
  return claims;
}
