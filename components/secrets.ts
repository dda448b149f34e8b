import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { NorthstackConfig } from "./config";
import { CredentialRotation } from "./config/schema";
import { CLIENT_ROLES, DB_CLIENTS, DbClient } from "./db-roles";
import { PostgresLogin } from "./endpoints";

export interface StackSecretsArgs {
  /** Secret values given in stack config; any left out is generated. Default: all generated. */
  readonly given: NorthstackConfig["secrets"];
}

/**
 * The stack's shared credentials. Each comes from secret config when set, otherwise from a
 * `random.RandomPassword` kept in state, so a redeploy never rotates it by accident. All are
 * Pulumi secrets.
 */
export class StackSecrets extends pulumi.ComponentResource {
  /** Postgres admin password, for the migration job alone; every client has its own (DatabaseCredentials). */
  readonly postgresPassword: pulumi.Output<string>;
  /** HS256 secret that signs Supabase JWTs, 64 characters. */
  readonly jwtSecret: pulumi.Output<string>;
  /** Redis AUTH password / ElastiCache auth token. */
  readonly redisPassword: pulumi.Output<string>;

  constructor(name: string, args: StackSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("northstack:core:Secrets", name, {}, opts);
    const secretOrGenerated = (key: string, value: string | undefined, length: number) =>
      value !== undefined
        ? pulumi.secret(value)
        : pulumi.secret(
            // Alphanumeric only: these end up in URLs, libpq strings and ElastiCache tokens.
            new random.RandomPassword(`${name}-${key}`, { length, special: false }, { parent: this }).result,
          );
    this.postgresPassword = secretOrGenerated("postgres-password", args.given.postgresPassword, 32);
    this.jwtSecret = secretOrGenerated("jwt-secret", args.given.jwtSecret, 64);
    this.redisPassword = secretOrGenerated("redis-password", args.given.redisPassword, 32);
    this.registerOutputs({});
  }
}

export interface DatabaseCredentialsArgs {
  /** Rotation counters (northstack:credentialRotation, credentialRotationByClient). Default: all 0. */
  readonly rotation?: CredentialRotation;
}

/**
 * One generated password per database client (components/db-roles.ts), each a Pulumi secret kept
 * in state. A password's `keepers` are its rotation counters: raising the stack-wide counter
 * replaces every password, raising a client's replaces that one only. The migration job sets the
 * roles' passwords on every deploy and each client's env holds its own, so the next `up` rotates
 * both sides.
 */
export class DatabaseCredentials extends pulumi.ComponentResource {
  /** Each client's login role and password. */
  readonly logins: Readonly<Record<DbClient, PostgresLogin>>;

  constructor(name: string, args: DatabaseCredentialsArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super("northstack:core:DatabaseCredentials", name, {}, opts);
    const rotation = args.rotation ?? { all: 0, byClient: {} };
    this.logins = Object.fromEntries(
      DB_CLIENTS.map((client) => {
        const password = new random.RandomPassword(
          `${name}-${client}`,
          // Alphanumeric: it ends up in URLs and libpq strings.
          { length: 32, special: false, keepers: { rotation: `${rotation.all}.${rotation.byClient[client] ?? 0}` } },
          { parent: this },
        );
        return [client, { user: CLIENT_ROLES[client], password: pulumi.secret(password.result) }];
      }),
    ) as Record<DbClient, PostgresLogin>;
    this.registerOutputs({});
  }
}
