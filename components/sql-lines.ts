/**
 * Line numbers of SQL statements from the byte offsets PostgreSQL's parser (libpg-query) reports,
 * so that every message about a migration (config checks, extension checks, the policy pack) names
 * the same line. Pure.
 */

/** Offsets of line starts, to turn parser byte locations into line numbers. */
export function lineStarts(sql: string): { bytes: Buffer; starts: number[] } {
  const bytes = Buffer.from(sql, "utf8");
  const starts = [0];
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x0a) starts.push(i + 1);
  return { bytes, starts };
}
export function lineOf(starts: number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

/** Statement locations include the blank lines and comments before the statement; skip them. */
export function firstToken(bytes: Buffer, offset: number): number {
  let i = offset;
  while (i < bytes.length) {
    if (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d) i++;
    else if (bytes[i] === 0x2d && bytes[i + 1] === 0x2d) while (i < bytes.length && bytes[i] !== 0x0a) i++;
    else if (bytes[i] === 0x2f && bytes[i + 1] === 0x2a) {
      const end = bytes.indexOf("*/", i + 2);
      i = end < 0 ? bytes.length : end + 2;
    } else break;
  }
  return i;
}

/** The line of the statement the parser places at byte `offset` of `sql`, past blank lines and comments before it. */
export function statementLine(sql: string, offset: number): number {
  const { bytes, starts } = lineStarts(sql);
  return lineOf(starts, firstToken(bytes, offset));
}
