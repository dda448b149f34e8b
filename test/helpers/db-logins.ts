/** A distinct password per database client, and the migration job's environment that delivers them. */
import { CLIENT_ROLES, DB_CLIENTS, DbClient, dbPasswordEnv } from "../../components/db-roles";

export type ClientPasswords = Readonly<Record<DbClient, string>>;

/** `<prefix>-<client>` for every client, so a test can tell whose password is whose. */
export function clientPasswords(prefix: string): ClientPasswords {
  return Object.fromEntries(DB_CLIENTS.map((c) => [c, `${prefix}-${c}`])) as Record<DbClient, string>;
}

/** The job's secret env for these passwords, one variable per client. */
export function passwordEnv(passwords: ClientPasswords): Record<string, string> {
  return Object.fromEntries(DB_CLIENTS.map((c) => [dbPasswordEnv(c), passwords[c]]));
}

/** The login role and password of a client. */
export const loginOf = (passwords: ClientPasswords, client: DbClient): [string, string] => [
  CLIENT_ROLES[client],
  passwords[client],
];
