import { DB_CLIENTS, DbClient } from "../../db-roles";
import { ConfigReader, Problems, key, show } from "../reader";
import { CredentialRotation } from "../schema";

const ENTRY = /^([a-z]+)=(\d{1,9})$/;

/**
 * The rotation counters: `credentialRotation` for every client, `credentialRotationByClient` as
 * client=N entries for one client at a time. Each entry must name a known client once, with a
 * non-negative integer.
 */
export function readCredentialRotation(r: ConfigReader, problems: Problems): CredentialRotation {
  const byClient: Partial<Record<DbClient, number>> = {};
  for (const entry of r.list("credentialRotationByClient")) {
    const m = ENTRY.exec(entry);
    if (!m) {
      problems.push(
        `${key("credentialRotationByClient")}: ${show(entry)} is not client=N; use a client name and a non-negative integer, e.g. api=1`,
      );
      continue;
    }
    const client = m[1] as DbClient;
    if (!DB_CLIENTS.includes(client)) {
      problems.push(
        `${key("credentialRotationByClient")}: ${show(entry)} names an unknown client; allowed clients: ${DB_CLIENTS.join(", ")}`,
      );
      continue;
    }
    if (byClient[client] !== undefined) {
      problems.push(
        `${key("credentialRotationByClient")}: ${show(entry)} sets ${client} twice; keep one entry per client`,
      );
      continue;
    }
    byClient[client] = Number(m[2]);
  }
  return { all: r.int("credentialRotation"), byClient };
}
