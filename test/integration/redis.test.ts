/**
 * The rendered redis.conf, loaded by a real redis-server (Debian's redis-server package; `.ci/run`
 * installs it): auth, AOF, memory policy and the disabled commands, spoken over RESP.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { DISABLED_COMMANDS, REDIS_RDB_SAVE, renderRedisConf } from "../../components/redis";

const PASSWORD = "integrationPassw0rdForRedis";
const MAXMEMORY_MB = 64;

type Reply = string | number | null | Error | Reply[];

/** A minimal RESP2 client: one command at a time on one connection. */
class RespConnection {
  private buffer = Buffer.alloc(0);
  private waiting: ((r: Reply) => void)[] = [];
  private constructor(private readonly socket: net.Socket) {
    socket.on("data", (chunk) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      for (;;) {
        const parsed = parseReply(this.buffer, 0);
        if (!parsed) break;
        this.buffer = this.buffer.subarray(parsed.end);
        this.waiting.shift()?.(parsed.value);
      }
    });
  }

  static open(port: number): Promise<RespConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, "127.0.0.1", () => resolve(new RespConnection(socket)));
      socket.once("error", reject);
    });
  }

  send(...args: string[]): Promise<Reply> {
    const payload = `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`;
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.socket.write(payload);
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

function parseReply(buf: Buffer, start: number): { value: Reply; end: number } | undefined {
  const lineEnd = buf.indexOf("\r\n", start);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buf[start]);
  const line = buf.toString("utf8", start + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case "+":
      return { value: line, end: next };
    case "-":
      return { value: new Error(line), end: next };
    case ":":
      return { value: Number(line), end: next };
    case "$": {
      const length = Number(line);
      if (length < 0) return { value: null, end: next };
      if (buf.length < next + length + 2) return undefined;
      return { value: buf.toString("utf8", next, next + length), end: next + length + 2 };
    }
    case "*": {
      const count = Number(line);
      const items: Reply[] = [];
      let position = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, position);
        if (!item) return undefined;
        items.push(item.value);
        position = item.end;
      }
      return { value: items, end: position };
    }
    default:
      throw new Error(`unexpected RESP type ${JSON.stringify(type)}`);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, server: ChildProcess, log: () => string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (server.exitCode !== null) throw new Error(`redis-server exited with ${server.exitCode}:\n${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server did not listen on ${port}:\n${log()}`);
}

describe("redis-server with the rendered redis.conf", () => {
  let dir: string;
  let confPath: string;
  let port: number;
  let server: ChildProcess;
  let output = "";

  const start = async (): Promise<void> => {
    output = "";
    server = spawn("redis-server", [confPath], { stdio: ["ignore", "pipe", "pipe"] });
    server.stdout?.on("data", (d) => (output += d));
    server.stderr?.on("data", (d) => (output += d));
    await waitForPort(port, server, () => output);
  };
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (server.exitCode !== null) return resolve();
      server.once("exit", () => resolve());
      server.kill("SIGTERM");
    });
  const authed = async (): Promise<RespConnection> => {
    const c = await RespConnection.open(port);
    expect(await c.send("AUTH", PASSWORD)).toBe("OK");
    return c;
  };

  beforeAll(async () => {
    if (spawnSync("redis-server", ["--version"]).status !== 0)
      throw new Error("redis-server is not installed: apt-get install -y redis-server (.ci/run does)");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "northstack-redis-"));
    port = await freePort();
    confPath = path.join(dir, "redis.conf");
    fs.writeFileSync(
      confPath,
      renderRedisConf({ password: PASSWORD, maxmemoryMb: MAXMEMORY_MB, bind: "127.0.0.1", port, dir }),
      { mode: 0o600 },
    );
    await start();
  });

  afterAll(async () => {
    if (server) await stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("refuses commands without the password and a wrong one", async () => {
    const c = await RespConnection.open(port);
    const ping = await c.send("PING");
    expect(ping).toBeInstanceOf(Error);
    expect((ping as Error).message).toMatch(/^NOAUTH/);
    const wrong = await c.send("AUTH", "not-the-password");
    expect((wrong as Error).message).toMatch(/^WRONGPASS/);
    c.close();
  });

  test("answers PONG once authenticated", async () => {
    const c = await authed();
    expect(await c.send("PING")).toBe("PONG");
    c.close();
  });

  test("runs with AOF every second, RDB snapshots beside it, the rendered maxmemory and the eviction policy", async () => {
    const c = await authed();
    expect(await c.send("CONFIG", "GET", "appendonly")).toEqual(["appendonly", "yes"]);
    expect(await c.send("CONFIG", "GET", "appendfsync")).toEqual(["appendfsync", "everysec"]);
    expect(await c.send("CONFIG", "GET", "maxmemory")).toEqual(["maxmemory", String(MAXMEMORY_MB * 1024 * 1024)]);
    expect(await c.send("CONFIG", "GET", "maxmemory-policy")).toEqual(["maxmemory-policy", "volatile-lru"]);
    expect(await c.send("CONFIG", "GET", "protected-mode")).toEqual(["protected-mode", "yes"]);
    expect(await c.send("CONFIG", "GET", "save")).toEqual(["save", REDIS_RDB_SAVE]);
    expect(await c.send("CONFIG", "GET", "dbfilename")).toEqual(["dbfilename", "dump.rdb"]);
    c.close();
  });

  test("dangerous commands are gone and protected settings cannot be changed", async () => {
    const c = await authed();
    for (const command of DISABLED_COMMANDS) {
      const reply = await c.send(command);
      expect({ command, error: (reply as Error).message }).toEqual({
        command,
        error: expect.stringMatching(/^ERR unknown command/),
      });
    }
    const setDir = await c.send("CONFIG", "SET", "dir", "/tmp");
    expect((setDir as Error).message).toMatch(/protected config/);
    c.close();
  });

  test("a write lands in the append-only file and survives a restart", async () => {
    const c = await authed();
    expect(await c.send("SET", "northstack:aof-probe", "kept")).toBe("OK");
    c.close();
    const aofDir = path.join(dir, "appendonlydir");
    let written = false;
    for (let i = 0; i < 40 && !written; i++) {
      await new Promise((r) => setTimeout(r, 50));
      written =
        fs.existsSync(aofDir) &&
        fs
          .readdirSync(aofDir)
          .some(
            (f) =>
              f.endsWith(".incr.aof") && fs.readFileSync(path.join(aofDir, f), "utf8").includes("northstack:aof-probe"),
          );
    }
    expect(written).toBe(true);

    await stop();
    await start();
    const again = await authed();
    expect(await again.send("GET", "northstack:aof-probe")).toBe("kept");
    again.close();
  });
});
