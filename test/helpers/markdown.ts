/** Markdown helpers shared by the documentation tests. */

/** Fenced code blocks removed: a `#` line inside one is not a heading. */
export function withoutFences(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "");
}

interface Heading {
  /** GitHub's anchor: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
  readonly anchor: string;
  readonly level: number;
  /** Index of the heading's line in the fence-free text. */
  readonly line: number;
}

function headings(lines: readonly string[]): Heading[] {
  const seen = new Map<string, number>();
  const result: Heading[] = [];
  lines.forEach((text, line) => {
    const m = /^(#{1,6})\s+(.+?)\s*#*\s*$/.exec(text);
    if (!m) return;
    const slug = m[2]
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    result.push({ anchor: n === 0 ? slug : `${slug}-${n}`, level: m[1].length, line });
  });
  return result;
}

/** Every heading anchor of a page, as GitHub derives them. */
export function headingAnchors(markdown: string): Set<string> {
  return new Set(headings(withoutFences(markdown).split("\n")).map((h) => h.anchor));
}

/** The text under the heading `anchor`, up to the next heading of the same or a higher level; undefined without one. */
export function section(markdown: string, anchor: string): string | undefined {
  const lines = withoutFences(markdown).split("\n");
  const all = headings(lines);
  const i = all.findIndex((h) => h.anchor === anchor);
  if (i === -1) return undefined;
  const next = all.slice(i + 1).find((h) => h.level <= all[i].level);
  return lines.slice(all[i].line + 1, next?.line).join("\n");
}
