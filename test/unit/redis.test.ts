import * as pulumi from "@pulumi/pulumi";
import { Redis, REDIS_PORT, redisContainerMemoryMb, renderRedisConf, validateRedisArgs } from "../../components/redis";
import { DockerRuntime } from "../../components/runtime/docker";
import { MockRunResult, PlannedResource, SECRET_MARK, runUnderMocks } from "../../scripts/lib/mock-program";

const PASSWORD = "redisUnitPassw0rd";

describe("renderRedisConf", () => {
  const lines = renderRedisConf({ password: PASSWORD, maxmemoryMb: 256 }).split("\n");

  test("auth, AOF every second, RDB snapshots beside it, memory budget and policy", () => {
    expect(lines).toEqual(
      expect.arrayContaining([
        `requirepass ${PASSWORD}`,
        "protected-mode yes",
        "appendonly yes",
        "appendfsync everysec",
        "maxmemory 256mb",
        "maxmemory-policy volatile-lru",
        "save 3600 1 300 100 60 10000",
        "dbfilename dump.rdb",
        'appenddirname "appendonlydir"',
        "dir /data",
        `port ${REDIS_PORT}`,
        'rename-command FLUSHALL ""',
        "enable-protected-configs no",
      ]),
    );
  });

  test("the password appears on the requirepass line only", () => {
    expect(lines.filter((l) => l.includes(PASSWORD))).toEqual([`requirepass ${PASSWORD}`]);
  });

  test("is pure", () => {
    expect(renderRedisConf({ password: PASSWORD, maxmemoryMb: 256 })).toBe(lines.join("\n"));
  });

  test.each([
    [{ password: "", maxmemoryMb: 256 }, "password"],
    [{ password: "has space", maxmemoryMb: 256 }, "password"],
    [{ password: PASSWORD, maxmemoryMb: 8 }, "maxmemoryMb: 8"],
    [{ password: PASSWORD, maxmemoryMb: 256, evictionPolicy: "lru" as never }, 'evictionPolicy: "lru"'],
    [{ password: PASSWORD, maxmemoryMb: 256, port: 70000 }, "port: 70000"],
    [{ password: PASSWORD, maxmemoryMb: 256, dir: "data" }, 'dir: "data"'],
  ])("rejects %o", (input, fragment) => {
    expect(() => renderRedisConf(input)).toThrow(fragment);
  });

  test("the container limit leaves headroom above maxmemory", () => {
    expect(redisContainerMemoryMb(256)).toBe(384);
    expect(redisContainerMemoryMb(64)).toBe(128);
  });
});

describe("Redis under mocks", () => {
  let result: MockRunResult;
  let endpoint: Record<string, unknown>;
  let rejected = "";
  const container = (name = "redis"): PlannedResource => {
    const found = result.resources.find((r) => r.type === "docker:index/container:Container" && r.name === name);
    if (!found) throw new Error(`no container ${name}`);
    return found;
  };

  beforeAll(async () => {
    try {
      validateRedisArgs("redis", { memoryMb: -5 });
    } catch (e) {
      rejected = (e as Error).message;
    }
    result = await runUnderMocks({
      stack: "dev",
      config: {},
      program: () => {
        const runtime = new DockerRuntime("docker", { stack: "dev" });
        const redis = new Redis("redis", { runtime, memoryMb: 256, password: pulumi.output(PASSWORD) });
        return {
          host: redis.endpoint.host,
          port: redis.endpoint.port,
          password: redis.endpoint.password,
          tls: redis.endpoint.tls,
        };
      },
    });
    endpoint = result.outputs;
  });

  test("a bad size is rejected with the argument and value", () => {
    expect(rejected).toContain("memoryMb: -5");
  });

  test("the endpoint: host, port, secret password, no TLS on the local network", () => {
    expect(endpoint).toEqual({ host: "redis", port: REDIS_PORT, password: SECRET_MARK, tls: false });
    expect(result.resources.filter((r) => r.type === "northstack:data:Redis")).toHaveLength(1);
  });

  test("non-root, read-only, pinned Redis 7 with a limit above maxmemory", () => {
    const c = container();
    expect(c.inputs.user).toBe("999:999");
    expect(c.inputs.readOnly).toBe(true);
    expect(c.inputs.image).toMatch(/^redis:7\.\d+\.\d+/);
    expect(c.inputs.memory).toBe(384);
    expect(c.inputs.command).toEqual(["redis-server", "/usr/local/etc/redis/redis.conf"]);
  });

  test("data on a persistent volume, redis.conf from the file holder, read-only", () => {
    expect(container().inputs.volumes).toEqual([
      { volumeName: "northstack-dev-redis-data", containerPath: "/data" },
      { fromContainer: "redis-files-id:ro" },
    ]);
    const volume = result.resources.find((r) => r.type === "docker:index/volume:Volume");
    expect(volume?.inputs.name).toBe("northstack-dev-redis-data");
  });

  test("health check pings with the password from REDISCLI_AUTH, never on the command line", () => {
    const c = container();
    const tests = (c.inputs.healthcheck as { tests: string[] }).tests;
    expect(tests).toEqual(["CMD", "redis-cli", "-e", "ping"]);
    expect(JSON.stringify(tests)).not.toContain(PASSWORD);
    expect(c.inputs.envs).toBe(SECRET_MARK);
    expect(c.plainInputs.envs).toEqual([`REDISCLI_AUTH=${PASSWORD}`]);
  });

  test("redis.conf is uploaded as a secret, readable by redis alone, and the password is in no plain input", () => {
    const c = container("redis-files");
    expect(c.inputs.uploads).toEqual([
      {
        file: "/usr/local/etc/redis/redis.conf",
        content: SECRET_MARK,
        owner: "999",
        group: "999",
        permissions: "0440",
      },
    ]);
    expect((c.plainInputs.uploads as { content: string }[])[0].content).toContain(`requirepass ${PASSWORD}`);
    expect(JSON.stringify(result.resources.map((r) => r.inputs))).not.toContain(PASSWORD);
  });
});
