/**
 * The documentation a clone ships must stand on its own: no pointers to files outside the
 * repository (`../shared/...`), every relative link resolving to a file that exists, and every
 * `#anchor` into a markdown page naming one of its headings.
 */
import * as fs from "fs";
import * as path from "path";
import { headingAnchors } from "../helpers/markdown";

const root = path.resolve(__dirname, "..", "..");
const docsDir = path.join(root, "docs");
const pages = [
  "README.md",
  ...fs
    .readdirSync(docsDir)
    .filter((f) => f.endsWith(".md"))
    .map((f) => path.join("docs", f)),
];

/** Text outside fenced code blocks and inline code spans, where `](...)` is prose rather than a link. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "").replace(/`[^`\n]*`/g, "");
}

/** Targets of inline markdown links `[text](target "title")` and images. */
function linkTargets(markdown: string): string[] {
  const targets: string[] = [];
  for (const m of prose(markdown).matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push(m[1]);
  return targets;
}

const isExternal = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target);

/** Every broken relative link of one page, as "page: target (why)". */
function brokenLinks(page: string): string[] {
  const text = fs.readFileSync(path.join(root, page), "utf8");
  const problems: string[] = [];
  for (const target of linkTargets(text)) {
    if (isExternal(target)) continue;
    const [file, anchor] = target.split("#", 2);
    const resolved = file
      ? path.resolve(path.dirname(path.join(root, page)), decodeURIComponent(file))
      : path.join(root, page);
    if (!resolved.startsWith(root + path.sep)) {
      problems.push(`${page}: ${target} (points outside the repository)`);
      continue;
    }
    if (!fs.existsSync(resolved)) {
      problems.push(`${page}: ${target} (no such file)`);
      continue;
    }
    if (
      anchor !== undefined &&
      resolved.endsWith(".md") &&
      !headingAnchors(fs.readFileSync(resolved, "utf8")).has(anchor)
    ) {
      problems.push(`${page}: ${target} (no heading #${anchor} in ${path.relative(root, resolved)})`);
    }
  }
  return problems;
}

describe("the link checker itself", () => {
  it("finds links outside code, and none inside it", () => {
    const md =
      'See [a](docs/a.md) and ![b](img.png "t").\n\n```sh\n[x](inside.md)\n```\n`[y](span.md)` [c](https://example.org)\n';
    expect(linkTargets(md)).toEqual(["docs/a.md", "img.png", "https://example.org"]);
  });

  it("derives GitHub heading anchors", () => {
    const anchors = headingAnchors(
      "# Runbooks\n## Backups and restores\n### dev: self-hosted Postgres (pgBackRest)\n## rollback\n## rollback\n",
    );
    expect([...anchors]).toEqual([
      "runbooks",
      "backups-and-restores",
      "dev-self-hosted-postgres-pgbackrest",
      "rollback",
      "rollback-1",
    ]);
  });
});

describe("README.md and docs/*.md", () => {
  it("include the architecture page", () => {
    expect(pages).toContain(path.join("docs", "architecture.md"));
  });

  it.each(pages)("%s points at nothing outside the repository (no ../shared)", (page) => {
    const text = fs.readFileSync(path.join(root, page), "utf8");
    expect(text).not.toMatch(/\.\.\/shared/);
  });

  it.each(pages)("%s has only relative links that resolve, anchors included", (page) => {
    expect(brokenLinks(page)).toEqual([]);
  });

  it("README links to the architecture page", () => {
    expect(linkTargets(fs.readFileSync(path.join(root, "README.md"), "utf8"))).toContain("docs/architecture.md");
  });

  it("anchors into docs/runbooks.md name its headings", () => {
    const anchors = headingAnchors(fs.readFileSync(path.join(docsDir, "runbooks.md"), "utf8"));
    const intoRunbooks = pages.flatMap((page) =>
      linkTargets(fs.readFileSync(path.join(root, page), "utf8"))
        .filter((t) => /(^|\/)runbooks\.md#/.test(t) || (page.endsWith("runbooks.md") && t.startsWith("#")))
        .map((t) => t.split("#")[1]),
    );
    expect(intoRunbooks.length).toBeGreaterThan(0);
    expect(intoRunbooks.filter((a) => !anchors.has(a))).toEqual([]);
  });
});
