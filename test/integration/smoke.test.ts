import { execFile, execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as https from "https";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";

/**
 * scripts/smoke.sh, run by a real bash against a stand-in gateway: node https on 127.0.0.1 with a
 * self-signed certificate made by openssl here, answering the three routes the script calls.
 */
const SCRIPT = path.resolve(__dirname, "..", "..", "scripts", "smoke.sh");
const KEY = "anon-key-for-the-smoke-test";
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "smoke-"));

/** A self-signed certificate for 127.0.0.1, valid for `days`. */
function certificate(name: string, days: number): { cert: string; key: string; certFile: string } {
  const certFile = path.join(tmp, `${name}.pem`);
  const keyFile = path.join(tmp, `${name}.key`);
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-sha256",
      "-days",
      String(days),
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      keyFile,
      "-out",
      certFile,
    ],
    { stdio: "ignore" },
  );
  return { cert: fs.readFileSync(certFile, "utf8"), key: fs.readFileSync(keyFile, "utf8"), certFile };
}

interface Behaviour {
  /** Statuses /api/v1/health answers with a key, in turn; the last one repeats. */
  health: number[];
  /** What /api/v1/health answers without a key. */
  healthWithoutKey: number;
  /** What /rest/v1/ answers with the right key. */
  rest: number;
}
let behaviour: Behaviour;
const requests: string[] = [];

function gateway(tls: { cert: string; key: string }): Promise<{ server: https.Server; url: string }> {
  const server = https.createServer(tls, (req, res) => {
    const hasKey = req.headers.apikey === KEY;
    requests.push(`${req.url} ${hasKey ? "key" : "nokey"}`);
    const json = (status: number, body: unknown) =>
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (req.url === "/api/v1/health" && !hasKey) {
      json(behaviour.healthWithoutKey, { message: "No API key found in request" });
    } else if (req.url === "/api/v1/health") {
      const status = behaviour.health.length > 1 ? behaviour.health.shift()! : behaviour.health[0];
      json(status, { status: status === 200 ? "ok" : "error" });
    } else if (req.url === "/rest/v1/") {
      json(hasKey && req.headers.authorization === `Bearer ${KEY}` ? behaviour.rest : 401, { swagger: "2.0" });
    } else {
      json(404, {});
    }
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({ server, url: `https://127.0.0.1:${(server.address() as AddressInfo).port}` }),
    ),
  );
}

let good: { server: https.Server; url: string; certFile: string };
let expiring: { server: https.Server; url: string; certFile: string };

beforeAll(async () => {
  const goodCert = certificate("good", 90);
  const expiringCert = certificate("expiring", 1);
  good = { ...(await gateway(goodCert)), certFile: goodCert.certFile };
  expiring = { ...(await gateway(expiringCert)), certFile: expiringCert.certFile };
});
beforeEach(() => {
  behaviour = { health: [200], healthWithoutKey: 401, rest: 200 };
  requests.length = 0;
});
afterAll(async () => {
  await Promise.all([good, expiring].map((g) => new Promise((resolve) => g.server.close(resolve))));
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Runs the script asynchronously, so that this process's servers can answer it. */
function smoke(url: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(
      "bash",
      [SCRIPT, url],
      { env: { PATH: process.env.PATH ?? "", SMOKE_ATTEMPTS: "2", SMOKE_DELAY: "0", ...env }, timeout: 30000 },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? -1) : 0, stdout, stderr }),
    ),
  );
}
const trusted = () => ({ SMOKE_ANON_KEY: KEY, SMOKE_CA_FILE: good.certFile });

test("a healthy gateway passes: TLS, health, key enforcement and an authenticated call", async () => {
  const result = await smoke(good.url, trusted());
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  expect(result.stdout).toContain("passed");
  expect(requests).toEqual(["/api/v1/health key", "/api/v1/health nokey", "/rest/v1/ key"]);
});

test("a gateway that is still rolling out passes once health recovers within the attempts", async () => {
  behaviour.health = [503, 200];
  expect((await smoke(good.url, trusted())).code).toBe(0);
});

test.each([
  ["an unhealthy API", { health: [503] }, /health: GET \/api\/v1\/health answered 503, expected 200/],
  [
    "a gateway that lets requests without a key through",
    { healthWithoutKey: 200 },
    /gateway key enforcement: .* answered 200, expected 401/,
  ],
  ["an API call the gateway refuses", { rest: 401 }, /authenticated API call: GET \/rest\/v1\/ answered 401/],
])("%s fails the check and points to the rollback runbook", async (_, change, message) => {
  Object.assign(behaviour, change);
  const result = await smoke(good.url, trusted());
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(message);
  expect(result.stderr).toContain("docs/runbooks.md#rollback");
});

test("a certificate the runner does not trust fails the check", async () => {
  const result = await smoke(good.url, { SMOKE_ANON_KEY: KEY });
  expect(result.code).toBe(1);
  expect(result.stderr).toContain("no verified TLS connection");
});

test("a certificate that expires within SMOKE_CERT_MIN_DAYS fails the check", async () => {
  const result = await smoke(expiring.url, {
    SMOKE_ANON_KEY: KEY,
    SMOKE_CA_FILE: expiring.certFile,
    SMOKE_CERT_MIN_DAYS: "14",
  });
  expect(result.code).toBe(1);
  expect(result.stderr).toContain("expires within 14 days");
  expect(requests).toEqual([]);
});

test("a plain-http gateway URL fails the check", async () => {
  const result = await smoke(good.url.replace("https:", "http:"), trusted());
  expect(result.code).toBe(1);
  expect(result.stderr).toContain("is not https://host[:port]");
});

test("a missing anon key is a usage error, not a pass", async () => {
  const result = await smoke(good.url, { SMOKE_CA_FILE: good.certFile });
  expect(result.code).toBe(2);
  expect(result.stderr).toContain("SMOKE_ANON_KEY is empty");
});

test("the script is shellcheck-clean", () => {
  const run = spawnSync("shellcheck", [SCRIPT], { encoding: "utf8" });
  expect(`${run.stdout}${run.stderr}`).toBe("");
  expect(run.status).toBe(0);
});
