import { Client } from "pg";
import { postgresSettings, renderPostgresConf } from "../../components/postgres-conf";
import { PgCluster, startPgCluster } from "../helpers/pg-cluster";

const SIZES_MB = [256, 1024, 4096, 16384];

describe("postgresSettings", () => {
  test("derives memory settings from the instance size", () => {
    const s = postgresSettings({ memoryMb: 4096 });
    expect(s.shared_buffers).toBe("1024MB");
    expect(s.effective_cache_size).toBe("3072MB");
    expect(s.maintenance_work_mem).toBe("256MB");
    expect(s.max_connections).toBe(256);
    expect(postgresSettings({ memoryMb: 256 }).max_connections).toBe(100);
    expect(postgresSettings({ memoryMb: 262144 }).max_connections).toBe(500);
  });

  test("work_mem keeps sorts of every connection within the memory shared_buffers leaves", () => {
    for (const memoryMb of SIZES_MB) {
      const s = postgresSettings({ memoryMb });
      const workMemMb = parseInt(String(s.work_mem), 10) / 1024;
      // 1 MiB is the floor: below it sorts spill to disk at once, so small instances may overcommit.
      if (workMemMb > 1) expect(workMemMb * Number(s.max_connections) * 3).toBeLessThanOrEqual(memoryMb * 0.75);
      expect(workMemMb).toBeGreaterThanOrEqual(1);
    }
  });

  test("WAL is ready for logical replication, and archived only by a real archiver", () => {
    const s = postgresSettings({ memoryMb: 1024 });
    expect(s).toMatchObject({
      wal_level: "logical",
      archive_mode: "off",
      max_wal_senders: 10,
      max_replication_slots: 10,
    });
    expect(s).not.toHaveProperty("archive_command");
    const archived = postgresSettings({ memoryMb: 1024, archive: {} });
    expect(archived).toMatchObject({
      archive_mode: "on",
      archive_command: "pgbackrest --config=/etc/pgbackrest/pgbackrest.conf --stanza=main archive-push %p",
      archive_timeout: "60s",
    });
  });

  test("the archive timeout, which bounds the RPO, cannot exceed 60 s", () => {
    expect(() => postgresSettings({ memoryMb: 1024, archive: { archiveTimeoutSeconds: 300 } })).toThrow(
      /archiveTimeoutSeconds: 300 is not allowed; use an integer from 1 to 60/,
    );
  });

  test("rejects a size the server cannot run in, naming the argument", () => {
    expect(() => postgresSettings({ memoryMb: 128 })).toThrow(/memoryMb 128 .*at least 256/);
    expect(() => postgresSettings({ memoryMb: 512.5 })).toThrow(/memoryMb 512.5/);
  });

  test("renders one quoted setting per line and escapes quotes", () => {
    const text = renderPostgresConf({ archive_command: "echo 'x'", max_connections: 10 });
    expect(text.split("\n")).toEqual(
      expect.arrayContaining(["archive_command = 'echo ''x'''", "max_connections = 10"]),
    );
    expect(() => renderPostgresConf({ "bad name": 1 })).toThrow(/bad name/);
  });
});

describe("a real PostgreSQL 15 accepts the rendered postgresql.conf", () => {
  for (const memoryMb of SIZES_MB) {
    describe(`${memoryMb} MiB`, () => {
      let cluster: PgCluster;
      const settings = postgresSettings({ memoryMb });

      beforeAll(async () => {
        cluster = await startPgCluster({ configText: renderPostgresConf(settings) });
      });
      afterAll(async () => cluster?.stop());

      test("postgres -C parses the file and reports our values", () => {
        const shown = cluster.runServerBinary("postgres", [
          "-D",
          cluster.dataDir,
          "-c",
          `config_file=${cluster.configFile}`,
          "-C",
          "wal_level",
        ]);
        expect(shown.trim()).toBe("logical");
      });

      test("the running server uses every setting, none rejected", async () => {
        const client = new Client(cluster.connection());
        await client.connect();
        try {
          const names = Object.keys(settings).filter((n) => !["port", "listen_addresses"].includes(n));
          const { rows } = await client.query<{ name: string; setting: string; unit: string | null; source: string }>(
            "SELECT name, setting, unit, source FROM pg_settings WHERE lower(name) = ANY($1)",
            [names],
          );
          expect(rows.map((r) => r.name.toLowerCase()).sort()).toEqual([...names].sort());
          // wal_buffers = -1 asks the server to size it (from shared_buffers), reported as an override.
          const notFromFile = rows.filter((r) => r.source !== "configuration file").map((r) => r.name);
          expect(notFromFile).toEqual(["wal_buffers"]);
          // port and listen_addresses are overridden on the test server's command line, so the file's values are not applied.
          const errors = await client.query(
            "SELECT name, error FROM pg_file_settings WHERE error IS NOT NULL AND name NOT IN ('port', 'listen_addresses')",
          );
          expect(errors.rows).toEqual([]);
          const show = async (name: string) => (await client.query(`SHOW ${name}`)).rows[0][name];
          expect(await show("shared_buffers")).toBe(
            memoryMb >= 4096 ? `${memoryMb / 4 / 1024}GB` : `${memoryMb / 4}MB`,
          );
          expect(await show("wal_level")).toBe("logical");
          expect(await show("archive_mode")).toBe("off");
          expect(Number(await show("max_connections"))).toBe(settings.max_connections);
        } finally {
          await client.end();
        }
      });
    });
  }
});
