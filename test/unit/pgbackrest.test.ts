import { postgresSpec } from "../../components/postgres";
import { archiveSettings, renderPgBackRestConf, validatePgBackRestArgs } from "../../components/pgbackrest";

const lines = (text: string) => text.split("\n");

describe("pgbackrest.conf", () => {
  test("7 daily restore points and 4 weekly fulls become pgBackRest's count-based retention", () => {
    const text = renderPgBackRestConf({ pgPath: "/var/lib/postgresql/data/pgdata" });
    expect(lines(text)).toEqual(
      expect.arrayContaining([
        "repo1-path=/var/lib/pgbackrest",
        "repo1-retention-full=4",
        "repo1-retention-full-type=count",
        "repo1-retention-diff=7",
        "[main]",
        "pg1-path=/var/lib/postgresql/data/pgdata",
      ]),
    );
  });

  test("restores run 8 processes and sync the file system once; backups stay at 2 processes", () => {
    const section = (text: string, name: string) => {
      const body = text.split(`\n[${name}]\n`)[1];
      if (body === undefined) throw new Error(`no [${name}] section in:\n${text}`);
      return lines(body.split("\n\n")[0]);
    };
    const text = renderPgBackRestConf({ pgPath: "/data" });
    expect(section(text, "global")).toContain("process-max=2");
    expect(section(text, "global:restore")).toEqual([
      "process-max=8",
      "recovery-option=recovery_init_sync_method=syncfs",
    ]);
    const tuned = renderPgBackRestConf({ pgPath: "/data", processMax: 1, restoreProcessMax: 16 });
    expect(section(tuned, "global")).toContain("process-max=1");
    expect(section(tuned, "global:restore")).toContain("process-max=16");
  });

  test("an off-host copy goes to a second repository with the same retention and no keys in the file", () => {
    const text = renderPgBackRestConf({
      pgPath: "/data",
      s3: { bucket: "northstack-dev-wal", endpoint: "s3.ca-central-1.amazonaws.com", region: "ca-central-1" },
      keepDaily: 5,
      keepWeekly: 2,
    });
    expect(lines(text)).toEqual(
      expect.arrayContaining([
        "repo2-type=s3",
        "repo2-s3-bucket=northstack-dev-wal",
        "repo2-retention-full=2",
        "repo2-retention-diff=5",
        "repo2-s3-key-type=shared",
      ]),
    );
    expect(text).not.toMatch(/s3-key=|key-secret=/);
  });

  test("bad arguments are all reported at once, naming each", () => {
    expect(() =>
      validatePgBackRestArgs({
        pgPath: "/data",
        repoPath: "/data/repo",
        keepDaily: 0,
        processMax: 1.5,
        restoreProcessMax: 65,
        s3: { bucket: "B", endpoint: "https://x", region: "us-west-2" },
      }),
    ).toThrow(
      /keepDaily: 0[\s\S]*processMax: 1.5[\s\S]*restoreProcessMax: 65 is not allowed; use an integer from 1 to 64[\s\S]*repoPath: "\/data\/repo" is inside the data directory[\s\S]*s3.bucket[\s\S]*s3.endpoint/,
    );
    expect(() =>
      validatePgBackRestArgs({
        pgPath: "/data",
        s3: { bucket: "wal", endpoint: "s3.us-west-2.amazonaws.com", region: "us-west-2" },
      }),
    ).toThrow(/s3.region: "us-west-2" is outside Canada/);
    expect(() =>
      validatePgBackRestArgs({
        pgPath: "/data",
        s3: { bucket: "wal", endpoint: "minio:9000", region: "us-east-1", uriStyle: "path" },
      }),
    ).not.toThrow();
  });
});

describe("archive settings", () => {
  test("archive_timeout defaults to 60 s and pushes through pgBackRest", () => {
    expect(archiveSettings()).toEqual({
      archive_mode: "on",
      archive_command: "pgbackrest --config=/etc/pgbackrest/pgbackrest.conf --stanza=main archive-push %p",
      archive_timeout: "60s",
    });
  });
});

describe("Postgres container with backups", () => {
  const base = { memoryMb: 1024, storageGb: 20, password: "pw" };
  const image = "northstack/postgres-pgbackrest:abc";

  test("without backup the server archives nothing rather than pretending to", () => {
    const spec = postgresSpec("postgres", base, image);
    expect(spec.files?.[0].content).toMatch(/^archive_mode = 'off'$/m);
    expect(spec.volumes).toHaveLength(1);
  });

  test("with backup: archiving through pgBackRest and a repository volume separate from the data volume", () => {
    const spec = postgresSpec("postgres", { ...base, backup: {} }, image);
    expect(spec.image).toBe(image);
    expect(spec.files?.[0].content).toMatch(
      /^archive_command = 'pgbackrest --config=\/etc\/pgbackrest\/pgbackrest.conf --stanza=main archive-push %p'$/m,
    );
    expect(spec.files?.[0].content).toMatch(/^archive_timeout = '60s'$/m);
    expect(spec.files?.[1]).toMatchObject({ path: "/etc/pgbackrest/pgbackrest.conf" });
    expect(spec.volumes).toEqual([
      { name: "data", mountPath: "/var/lib/postgresql/data", sizeGb: 20 },
      { name: "backrest", mountPath: "/var/lib/pgbackrest", sizeGb: 60 },
    ]);
    expect(spec.user).toEqual({ uid: 999, gid: 999 });
  });

  test("bad backup arguments fail before any resource", () => {
    expect(() => postgresSpec("postgres", { ...base, backup: { keepDaily: 0, hourUtc: 3 } }, image)).toThrow(
      /keepDaily: 0/,
    );
    expect(() => postgresSpec("postgres", { ...base, backup: { hourUtc: 24 } }, image)).toThrow(
      /backup.hourUtc 24 is not allowed/,
    );
  });
});
