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
  /**
   * The keys bucket `bucket` holds under `prefix`, sorted, read from the server's own store on disk
   * (`<key>._S3rver_object` files): a witness that does not go through the client under test.
   */
  keys(bucket: string, prefix: string): string[];
  /** The stored bytes of `key`, from the same store. */
  read(bucket: string, key: string): Buffer;
  stop(): void;
}

const OBJECT_SUFFIX = "._S3rver_object";

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
  const store = path.join(dir, "data");
  const keys = (bucket: string, prefix: string): string[] => {
    const root = path.join(store, bucket);
    const walk = (sub: string): string[] =>
      fs.existsSync(path.join(root, sub))
        ? fs.readdirSync(path.join(root, sub), { withFileTypes: true }).flatMap((e) => {
            const rel = sub === "" ? e.name : `${sub}/${e.name}`;
            if (e.isDirectory()) return walk(rel);
            return e.name.endsWith(OBJECT_SUFFIX) ? [rel.slice(0, -OBJECT_SUFFIX.length)] : [];
          })
        : [];
    return walk("")
      .filter((k) => k.startsWith(prefix))
      .sort();
  };
  const read = (bucket: string, key: string) => fs.readFileSync(path.join(store, bucket, `${key}${OBJECT_SUFFIX}`));
  return { port, caFile, keys, read, stop: () => server.kill() };
}
