/**
 * s3rver, an S3 protocol server, on loopback over TLS with a throwaway certificate, in a child
 * process: the tests run their clients with spawnSync, which would block a server in the test's own
 * process. Its built-in account's key id is S3RVER; it checks the key id but not SigV4 signatures, so
 * a refused credential is shown with an unknown key id.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { freePort } from "./pg-cluster";

export const S3RVER_KEY_ID = "S3RVER";
export const S3RVER_SECRET = "S3RVER";

export interface S3Server {
  readonly port: number;
  /** The certificate the server presents, for a client's CA bundle (world-readable). */
  readonly caFile: string;
  stop(): void;
}

/** Starts a server with `bucket` under `dir`, whose certificate names 127.0.0.1. */
export async function startS3rver(dir: string, bucket: string): Promise<S3Server> {
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o755);
  const key = path.join(dir, "key.pem");
  const caFile = path.join(dir, "cert.pem");
  // The address as an IP entry for Python's ssl (the AWS CLI) and as a DNS entry for pgBackRest,
  // which matches the host name against DNS entries only.
  const made = spawnSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"].concat([
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:127.0.0.1",
      "-keyout",
      key,
      "-out",
      caFile,
    ]),
    { encoding: "utf8" },
  );
  if (made.status !== 0) throw new Error(`openssl: ${made.stderr}`);
  fs.chmodSync(caFile, 0o644);
  const port = await freePort();
  const server: ChildProcess = spawn(
    process.execPath,
    [
      require.resolve("s3rver/bin/s3rver.js"),
      "-d",
      path.join(dir, "data"),
      "-a",
      "127.0.0.1",
      "-p",
      String(port),
    ].concat(["--silent", "--key", key, "--cert", caFile, "--configure-bucket", bucket]),
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  await new Promise<void>((resolve, reject) => {
    let out = "";
    server.stdout?.on("data", (d) => {
      out += String(d);
      if (out.includes("listening")) resolve();
    });
    server.once("exit", (code) => reject(new Error(`s3rver exited with ${code}: ${out}`)));
  });
  return { port, caFile, stop: () => server.kill() };
}
