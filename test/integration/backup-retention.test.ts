/**
 * Retention by time travel on a real pgBackRest: the schedule script runs on simulated days
 * (BACKUP_DATE) and pgBackRest's own expiry must leave 7 daily restore points and 4 weekly fulls.
 * pgBackRest counts backups, not days (components/pgbackrest.ts), so of the 29 days that span five
 * Sundays (the fewest that make one weekly full expire) only the days that decide the outcome run:
 * every Sunday, the last eight days, and a Monday after each of the first two Sundays, whose
 * differentials must expire by differential retention. 13 backups instead of 29, at about 3 s each.
 * Fails, never skips, without pgBackRest.
 */
import * as fs from "fs";
import * as path from "path";
import { ArchivingCluster, startArchivingCluster } from "../helpers/pgbackrest-cluster";

let pg: ArchivingCluster;

beforeAll(async () => {
  pg = await startArchivingCluster(60);
  await pg.query(
    "create table public.notes (id int primary key); insert into public.notes select generate_series(1, 100)",
  );
}, 120000);

afterAll(async () => {
  await pg?.stop();
});

test("retention keeps 7 daily restore points and 4 weekly fulls over 29 simulated days", () => {
  // 2026-11-01 is a Sunday: full backups on Sundays, differential ones on the other days.
  const days = [1, 2, 8, 9, 15, 22, 23, 24, 25, 26, 27, 28, 29].map((d) =>
    new Date(Date.UTC(2026, 10, d)).toISOString().slice(0, 10),
  );
  for (const day of days) pg.ok("bash", [pg.scripts.backup, "once"], { BACKUP_DATE: day });

  const info = JSON.parse(pg.ok("pgbackrest", ["info", "--output=json"]))[0] as {
    backup: { label: string; type: string; annotation?: Record<string, string> }[];
  };
  const kept = info.backup.map((b) => ({ day: b.annotation?.["northstack-day"], type: b.type }));
  const fulls = kept.filter((b) => b.type === "full").map((b) => b.day);
  const dailies = kept.map((b) => b.day).slice(-7);
  // The first Sunday's full (2026-11-01) has expired; the four after it remain.
  expect(fulls).toEqual(["2026-11-08", "2026-11-15", "2026-11-22", "2026-11-29"]);
  expect(dailies).toEqual(days.slice(-7));
  // Nothing else survives: the differentials of 2026-11-02 and 2026-11-09 are expired.
  expect(kept).toHaveLength(new Set([...fulls, ...dailies]).size);
  // Each kept backup still has its manifest for the drill, and no expired one does.
  expect(
    fs
      .readdirSync(path.join(pg.work, "state", "manifests"))
      .map((f) => f.replace(/\.txt$/, ""))
      .sort(),
  ).toEqual(info.backup.map((b) => b.label).sort());
}, 240000);
