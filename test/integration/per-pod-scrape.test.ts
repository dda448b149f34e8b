/**
 * The per-pod bug, reproduced with a real Prometheus (Debian's): three replicas whose request
 * counters started at different times, scraped once through a round-robin "Service" as the old
 * config did, and once per replica as the rendered config does now (addresses adapted to this
 * machine). Through the Service the counters of different replicas interleave into one series, which
 * Prometheus reads as counter resets; per replica each series is monotonic and `up` sees each replica.
 */

import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { Started, startPrometheus, stopProcess } from "../helpers/live-stack";
import { renderPrometheusConfig } from "../../components/monitoring-config";
import { scrapeJobFor } from "../../components/monitoring-specs";

jest.setTimeout(60_000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "per-pod-"));
const servers: http.Server[] = [];
let prometheus: Started | undefined;
let prometheusUrl = "";

const listen = (handler: http.RequestListener): Promise<string> =>
  new Promise((resolve) => {
    const server = http.createServer(handler);
    servers.push(server);
    server.listen(0, "127.0.0.1", () => resolve(`127.0.0.1:${(server.address() as AddressInfo).port}`));
  });

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = http.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });

async function query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as { status: string; data: { result: [] } };
  if (body.status !== "success") throw new Error(`query ${expr} failed: ${JSON.stringify(body)}`);
  return body.data.result;
}

const started = Date.now();
/** Each replica has served requests since a different time; all grow at 10 requests a second. */
const replicaTotals = [5000, 20, 900].map((base) => () => base + Math.floor(((Date.now() - started) / 1000) * 10));

beforeAll(async () => {
  const pods = await Promise.all(
    replicaTotals.map((total) =>
      listen((_req, res) => {
        res.setHeader("Content-Type", "text/plain; version=0.0.4");
        res.end(`# TYPE http_requests_total counter\nhttp_requests_total ${total()}\n`);
      }),
    ),
  );
  // A ClusterIP Service: each connection goes to the next replica.
  let next = 0;
  const service = await listen((req, res) => {
    const target = pods[next++ % pods.length];
    http.get(`http://${target}${req.url}`, (upstream) => {
      res.writeHead(upstream.statusCode ?? 502, upstream.headers);
      upstream.pipe(res);
    });
  });

  const config = renderPrometheusConfig({
    stack: "dev",
    scrapeInterval: "1s",
    jobs: [
      // What the Docker runtime's discovery gives: every replica by name (here by address).
      scrapeJobFor("api", "api", { kind: "static", targets: pods, path: "/metrics" }),
      // What the old config scraped: the load-balanced Service.
      { job: "api-through-service", targets: [service] },
    ],
    alertmanager: "127.0.0.1:1",
    ruleFile: path.join(tmp, "none.yml"),
  });
  fs.writeFileSync(path.join(tmp, "none.yml"), "groups: []\n");
  fs.writeFileSync(path.join(tmp, "prometheus.yml"), config);
  const port = await freePort();
  prometheusUrl = `http://127.0.0.1:${port}`;
  prometheus = await startPrometheus(tmp, port);
  // Enough scrapes for a rate over several samples per series.
  for (let i = 0; i < 60; i++) {
    await new Promise((r) => setTimeout(r, 500));
    try {
      const samples = await query('count_over_time(http_requests_total{job="api"}[1m])');
      if (samples.length === 3 && samples.every((s) => Number(s.value[1]) >= 8)) break;
    } catch {
      // not up yet
    }
  }
});

afterAll(async () => {
  await stopProcess(prometheus);
  for (const s of servers) s.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("up sees each replica on its own, with instance naming the replica", async () => {
  const up = await query('up{job="api"}');
  expect(up.map((s) => s.metric.instance).sort()).toHaveLength(3);
  expect(new Set(up.map((s) => s.metric.instance)).size).toBe(3);
  expect(up.every((s) => s.value[1] === "1" && s.metric.workload === "api")).toBe(true);
  // Through the Service, three replicas look like one target.
  expect(await query('up{job="api-through-service"}')).toHaveLength(1);
});

test("per replica every counter only grows; through the Service the replicas interleave into false resets", async () => {
  const perReplica = await query('resets(http_requests_total{job="api"}[1m])');
  expect(perReplica).toHaveLength(3);
  for (const s of perReplica) expect(Number(s.value[1])).toBe(0);
  const [throughService] = await query('resets(http_requests_total{job="api-through-service"}[1m])');
  expect(Number(throughService.value[1])).toBeGreaterThan(0);
});

test("the request rate summed over replicas is the true 30/s; through the Service it is not", async () => {
  // irate: the last two samples of each series, so a few seconds of scrapes are enough.
  const [perReplica] = await query('sum(irate(http_requests_total{job="api"}[30s]))');
  expect(Number(perReplica.value[1])).toBeGreaterThan(20);
  expect(Number(perReplica.value[1])).toBeLessThan(40);
  const [throughService] = await query('sum(irate(http_requests_total{job="api-through-service"}[30s]))');
  // The last two samples came from different replicas: a jump between their counters, or a false reset.
  expect(Number(throughService.value[1])).toBeGreaterThan(60);
});
