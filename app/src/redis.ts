import * as net from "net";
import * as tls from "tls";

export interface RedisTarget {
  readonly host: string;
  readonly port: number;
  readonly password?: string;
  readonly tls: boolean;
}

/** Parses redis://[:password@]host[:port] or rediss://... */
export function parseRedisUrl(url: string): RedisTarget {
  const u = new URL(url);
  if (u.protocol !== "redis:" && u.protocol !== "rediss:")
    throw new Error(`REDIS_URL scheme ${u.protocol} is not redis: or rediss:`);
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 6379,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    tls: u.protocol === "rediss:",
  };
}

const command = (...args: string[]): string =>
  `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`;

/**
 * Opens a connection, authenticates when a password is set, sends PING and expects PONG. Speaks
 * just enough RESP for a health check, so the API needs no Redis client library.
 */
export function pingRedis(target: RedisTarget, timeoutMs = 2000): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = target.tls
      ? tls.connect({ host: target.host, port: target.port, servername: target.host })
      : net.connect({ host: target.host, port: target.port });
    const expected = target.password ? ["+OK", "+PONG"] : ["+PONG"];
    let buffer = "";
    const finish = (error?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve();
    };
    const timer = setTimeout(() => finish(new Error(`redis did not answer within ${timeoutMs} ms`)), timeoutMs);
    socket.setEncoding("utf8");
    socket.once(target.tls ? "secureConnect" : "connect", () => {
      socket.write((target.password ? command("AUTH", target.password) : "") + command("PING"));
    });
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      const lines = buffer.split("\r\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) {
        if (line.startsWith("-")) return finish(new Error(`redis: ${line.slice(1)}`));
        if (line !== expected.shift()) return finish(new Error(`redis: unexpected reply ${JSON.stringify(line)}`));
        if (expected.length === 0) return finish();
      }
    });
    socket.on("error", (e) => finish(e));
    socket.on("close", () => finish(new Error("redis closed the connection")));
  });
}
