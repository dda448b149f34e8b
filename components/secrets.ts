import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { NorthstackConfig } from "./config";

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
  /** Postgres admin password (also the Supabase service roles' password). */
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
