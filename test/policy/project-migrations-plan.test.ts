/**
 * The policy pack reads the project's migrations exactly as the migration job receives them: a file
 * in northstack:migrationsDir that creates a table without RLS is reported by `npm run plan`, naming
 * the file and line, in the Docker uploads (dev, advisory) and in the Kubernetes ConfigMap
 * (staging under the prod pack config, mandatory: exit 1).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PROJECT_FILE_PREFIX } from "../../components/migrations";
import { ROOT as root, runPlanCli } from "../helpers/plan-process";

const FILE = "20250101120000_create_todos.sql";
const SQL = `CREATE TABLE public.todos (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  title text NOT NULL
);
GRANT SELECT ON public.todos TO anon;
`;

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "northstack-plan-migrations-"));
  fs.writeFileSync(path.join(dir, FILE), SQL);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const plan = (...args: string[]) =>
  runPlanCli(...args, "--set", `northstack:migrationsDir=${path.relative(root, dir)}`);

const noRls = (at: string) =>
  `table public.todos created at ${at}:1 never gets ALTER TABLE public.todos ENABLE ROW LEVEL SECURITY; fix: add ALTER TABLE public.todos ENABLE ROW LEVEL SECURITY; after it is created.`;

test("dev: the migration container's uploads carry the project file, and the pack reports it (advisory)", () => {
  const { code, stdout } = plan("dev");
  expect(code).toBe(0);
  expect(stdout).toContain(
    `[advisory] postgres-rls-required (urn:pulumi:dev::northstack::northstack:data:Supabase$docker:index/container:Container::supabase-migrate-files): docker:index/container:Container supabase-migrate-files: ${noRls(`/migrations/${PROJECT_FILE_PREFIX}${FILE}`)}`,
  );
});

test("staging under the prod pack config: the ConfigMap carries the project file, and the pack refuses it (exit 1)", () => {
  const { code, stdout } = plan(
    "staging",
    "--set",
    "northstack:cloud=aws",
    "--policy-config",
    "policy/config.prod.json",
  );
  expect(code).toBe(1);
  expect(stdout).toContain(
    `[mandatory] postgres-rls-required (urn:pulumi:staging::northstack::northstack:data:Supabase$kubernetes:core/v1:ConfigMap::supabase-migrate-config): kubernetes:core/v1:ConfigMap supabase-migrate-config: ${noRls(`${PROJECT_FILE_PREFIX}${FILE}`)}`,
  );
});
