/** Content hashing of a local image build context, used by runtimes that build images (Docker). */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";

/** Build outputs and dependencies that do not change what the Dockerfile builds from source. */
const NOT_HASHED = new Set(["node_modules", "dist", "coverage", ".git"]);

/**
 * A content hash of the build context: every file's relative path and bytes, in a stable order,
 * skipping dependency and build-output directories. Used as the image tag, so a changed source
 * gives a new tag (and a rebuild) and an unchanged one keeps it.
 */
export function hashBuildContext(dir: string): string {
  const hash = createHash("sha256");
  const walk = (relative: string): void => {
    const entries = fs
      .readdirSync(path.join(dir, relative), { withFileTypes: true })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (NOT_HASHED.has(entry.name)) continue;
      const rel = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(rel);
      else if (entry.isFile())
        hash
          .update(`${rel}\0`)
          .update(fs.readFileSync(path.join(dir, rel)))
          .update("\0");
    }
  };
  walk("");
  return hash.digest("hex").slice(0, 16);
}
