import { execFile } from "child_process";
import * as http from "http";
import { AddressInfo } from "net";
import { statusReadyCheck } from "../../components/kong";

/** Kong's Docker health check run by a real bash against a stand-in status listener. */
let server: http.Server;
let port: number;
let readyStatus = 200;
const paths: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    paths.push(req.url ?? "");
    res.writeHead(req.url === "/status/ready" ? readyStatus : 404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** The exit code of the check; async, so that this process's server can answer it. */
const check = (p: number) =>
  new Promise<number>((resolve) =>
    execFile("bash", ["-c", statusReadyCheck(p)], { timeout: 10000 }, (err) =>
      resolve(err ? Number(err.code ?? -1) : 0),
    ),
  );

test("healthy only while /status/ready answers 200", async () => {
  readyStatus = 200;
  expect(await check(port)).toBe(0);
  readyStatus = 503;
  expect(await check(port)).not.toBe(0);
  expect(paths).toEqual(["/status/ready", "/status/ready"]);
});

test("unhealthy when nothing listens", async () => {
  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const unused = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  expect(await check(unused)).not.toBe(0);
});
