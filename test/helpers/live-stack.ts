/**
 * Real processes for the live-fire test: start a tool, know when it answers, stop it; the dev stack's
 * rendered files as the offline plan registers them; and the one adaptation the rendered
 * prometheus.yml needs to run on this machine (addresses and timing, nothing else).
 */
import { ChildProcess, execFile, spawn } from "child_process";
import * as path from "path";
import { promisify } from "util";
import * as YAML from "yaml";
import { PROJECT_ROOT } from "../../scripts/lib/plan";

const execFileAsync = promisify(execFile);

export interface Started {
  readonly name: string;
  readonly child: ChildProcess;
  /** stdout and stderr so far, for the message when it does not come up. */
  output(): string;
}

/** Spawns `cmd`; a missing binary rejects with the package to install, and an early exit is remembered. */
export async function startProcess(
  name: string,
  cmd: string,
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): Promise<Started> {
  const child = spawn(cmd, [...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  const keep = (chunk: Buffer) => {
    text = `${text}${chunk.toString()}`.slice(-4000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  await new Promise<void>((resolve, reject) => {
    child.once("error", (e) => reject(new Error(`${name}: ${cmd} cannot start (is it installed?): ${e.message}`)));
    child.once("spawn", () => resolve());
  });
  return { name, child, output: () => text };
}

/** Polls `url` until it answers 2xx; throws with the process's output when it never does. */
export async function waitForHttp(url: string, started: Started, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (started.child.exitCode !== null)
      throw new Error(`${started.name} exited with ${started.child.exitCode}:\n${started.output()}`);
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${started.name} did not answer ${url} within ${timeoutMs} ms:\n${started.output()}`);
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export async function stopProcess(started: Started | undefined, graceMs = 3000): Promise<void> {
  if (!started || started.child.exitCode !== null || started.child.signalCode !== null) return;
  const { child } = started;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** Debian's Prometheus on 127.0.0.1:`port`, with `dir`/prometheus.yml and its data in `dir`/data. */
export function startPrometheus(dir: string, port: number): Promise<Started> {
  return startProcess("prometheus", "prometheus", [
    `--config.file=${path.join(dir, "prometheus.yml")}`,
    `--storage.tsdb.path=${path.join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ]);
}

/** A file a container of the planned stack receives: its path in the container and its text. */
export interface PlannedFile {
  readonly container: string;
  readonly file: string;
  readonly content: string;
}

/**
 * Every file the dev stack delivers to its containers, from the offline plan (`npm run plan -- dev
 * --json`, run as its own process so the Pulumi mocks stay out of this test's module registry). Secret
 * files show as "[secret]" there; callers must not need them.
 */
export async function plannedDevFiles(): Promise<PlannedFile[]> {
  const { stdout } = await execFileAsync(
    process.execPath,
    [
      "-r",
      path.join(PROJECT_ROOT, "scripts", "register.js"),
      path.join(PROJECT_ROOT, "scripts", "plan.ts"),
      "dev",
      "--json",
    ],
    { cwd: PROJECT_ROOT, maxBuffer: 64 * 1024 * 1024 },
  );
  const plan = JSON.parse(stdout) as {
    resources: { name: string; inputs: { uploads?: { file: string; content?: unknown }[] } }[];
  };
  return plan.resources.flatMap((r) =>
    (r.inputs.uploads ?? []).map((u) => ({ container: r.name, file: u.file, content: String(u.content) })),
  );
}

export function plannedFile(files: readonly PlannedFile[], file: string): string {
  const found = files.filter((f) => f.file === file);
  if (found.length !== 1) throw new Error(`the dev plan delivers ${found.length} files at ${file}; expected one`);
  if (found[0].content === "[secret]") throw new Error(`${file} is a secret in the plan; the test cannot read it`);
  return found[0].content;
}

export interface Adaptation {
  /** Where each job's replicas run on this machine. */
  readonly targets: Readonly<Record<string, readonly string[]>>;
  /** Jobs whose workload cannot run here, each with the reason; they are pointed at `downTarget`. */
  readonly notHere: Readonly<Record<string, string>>;
  /** host:port that refuses connections: the address of what does not run here (its `up` is 0). */
  readonly downTarget: string;
  /** A probed URL of the rendered config, mapped to what answers it here. */
  readonly probeUrls: Readonly<Record<string, string>>;
  /** host:port of the blackbox exporter here. */
  readonly blackbox: string;
  readonly alertmanager: string;
  readonly ruleFile: string;
  /** Scrape and evaluation interval: a short one so that rates have samples within seconds. */
  readonly interval: string;
}

interface ScrapeConfig {
  job_name: string;
  static_configs?: { targets: string[]; labels?: Record<string, string> }[];
  dns_sd_configs?: unknown[];
  relabel_configs?: { target_label?: string; replacement?: string; source_labels?: string[] }[];
  metrics_path?: string;
}

/**
 * The rendered prometheus.yml with only addresses and timing changed: static targets, the probe's
 * exporter and URLs, Alertmanager, the rules file's path, and the intervals. Job names, labels,
 * metrics paths and relabelling stay as rendered. A job the adaptation neither places nor lists as
 * not running here is an error, so a new job is never left out without a reason.
 */
export function adaptPrometheusConfig(rendered: string, a: Adaptation): string {
  const config = YAML.parse(rendered) as {
    global: Record<string, unknown>;
    alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
    rule_files: string[];
    scrape_configs: ScrapeConfig[];
  };
  config.global.scrape_interval = a.interval;
  config.global.evaluation_interval = a.interval;
  config.alerting.alertmanagers = config.alerting.alertmanagers.map((m) => ({
    ...m,
    static_configs: m.static_configs.map(() => ({ targets: [a.alertmanager] })),
  }));
  config.rule_files = [a.ruleFile];
  for (const job of config.scrape_configs) {
    if (job.dns_sd_configs) throw new Error(`job ${job.job_name}: DNS discovery has no local address; adapt it`);
    const probe = (job.relabel_configs ?? []).find((r) => r.target_label === "__address__" && r.replacement);
    for (const sc of job.static_configs ?? []) {
      if (probe) {
        sc.targets = sc.targets.map((url) => {
          const here = a.probeUrls[url];
          if (!here) throw new Error(`job ${job.job_name}: no local URL for the probed ${url}`);
          return here;
        });
      } else if (a.targets[job.job_name]) {
        sc.targets = [...a.targets[job.job_name]];
      } else if (a.notHere[job.job_name]) {
        sc.targets = [a.downTarget];
      } else {
        throw new Error(`job ${job.job_name}: no local address and no reason it cannot run here; add it to one`);
      }
    }
    if (probe) probe.replacement = a.blackbox;
  }
  return YAML.stringify(config);
}
