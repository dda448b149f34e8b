/**
 * Runs a job and a service that depends on it on the Docker runtime under mocks, with the job's
 * container reporting the exit code given as the first argument. Behaves like the Pulumi language
 * host: a rejection nobody handles fails the program (exit 1, the error on stderr). Prints the
 * names of the resources registered, as JSON, on stdout either way.
 *
 * Run in a child process (test/unit/docker-runtime.test.ts): jest would claim the rejection.
 */
import * as pulumi from "@pulumi/pulumi";
import { DockerRuntime } from "../../components/runtime/docker";
import { runUnderMocks } from "../../scripts/lib/mock-program";

const exitCode = Number(process.argv[2]);
const registered: string[] = [];

process.on("unhandledRejection", (err) => {
  // Let registrations that were not blocked by the failure reach the mocks before reporting.
  setTimeout(() => {
    process.stderr.write(`program failed: ${(err as Error).message}\n`);
    process.stdout.write(JSON.stringify(registered));
    process.exit(1);
  }, 500);
});

class Holder extends pulumi.ComponentResource {
  constructor(name: string) {
    super("northstack:test:Holder", name, {}, {});
    this.registerOutputs({});
  }
}

void runUnderMocks({
  stack: "dev",
  config: {},
  overrideState: (_type, name) => {
    registered.push(name);
    return name === "migrate" ? { exitCode } : undefined;
  },
  program: () => {
    const runtime = new DockerRuntime("docker", { stack: "dev" });
    const holder = new Holder("holder");
    const job = runtime.deploy(
      {
        name: "migrate",
        component: "test",
        kind: "job",
        image: "postgres:15.8-bookworm",
        files: [{ path: "/migrations/001_a.sql", content: "select 1;" }],
        resources: { cpuMillis: 100, memoryMb: 64 },
        user: { uid: 999, gid: 999 },
      },
      holder,
    );
    runtime.deploy(
      {
        name: "api",
        component: "test",
        image: "nginxinc/nginx-unprivileged:1.27.3",
        health: { exec: ["true"] },
        resources: { cpuMillis: 100, memoryMb: 64 },
        user: { uid: 101, gid: 101 },
      },
      holder,
      { dependsOn: job.resources },
    );
  },
}).then(() => process.stdout.write(JSON.stringify(registered)));
