/**
 * A structural check of Alloy configuration text, for tests on a machine without the `alloy` binary:
 * the syntax (blocks, attributes, string/number/bool/list/object values, references), every
 * top-level block a component this project uses with only the arguments and inner blocks its
 * reference documents, and every reference naming a defined component's export. It cannot say that
 * Alloy would run the config; it catches typos, unknown arguments and dangling wiring.
 */

type Value =
  | { kind: "string"; value: string }
  | { kind: "number" | "bool" }
  | { kind: "list"; items: Value[] }
  | { kind: "object"; entries: Record<string, Value> }
  | { kind: "ref"; path: string };

export interface AlloyBlock {
  readonly name: string;
  readonly label?: string;
  readonly attributes: Record<string, Value>;
  readonly blocks: AlloyBlock[];
}

interface Schema {
  readonly attributes: readonly string[];
  /** Arguments without a default. Default: none. */
  readonly required?: readonly string[];
  readonly blocks?: Record<string, Schema>;
  readonly exports: readonly string[];
}

const RULE: Schema = {
  attributes: ["source_labels", "target_label", "regex", "replacement", "action", "separator", "modulus"],
  exports: [],
};
/** The components and arguments the northstack configs use, from Alloy v1.10's reference. */
export const ALLOY_COMPONENTS: Record<string, Schema> = {
  "discovery.kubernetes": {
    attributes: ["role", "api_server", "kubeconfig_file"],
    required: ["role"],
    blocks: { namespaces: { attributes: ["own_namespace", "names"], exports: [] } },
    exports: ["targets"],
  },
  "discovery.relabel": { attributes: ["targets"], blocks: { rule: RULE }, exports: ["output", "rules"] },
  "loki.source.kubernetes": { attributes: ["targets", "forward_to"], required: ["targets", "forward_to"], exports: [] },
  "loki.source.gelf": {
    attributes: ["listen_address", "use_incoming_timestamp", "relabel_rules", "forward_to"],
    required: ["forward_to"],
    exports: [],
  },
  "loki.process": {
    attributes: ["forward_to"],
    required: ["forward_to"],
    blocks: {
      "stage.json": { attributes: ["expressions", "source", "drop_malformed"], required: ["expressions"], exports: [] },
      "stage.labels": { attributes: ["values"], required: ["values"], exports: [] },
      "stage.static_labels": { attributes: ["values"], exports: [] },
      "stage.output": { attributes: ["source"], exports: [] },
    },
    exports: ["receiver"],
  },
  "loki.write": {
    attributes: ["external_labels", "max_streams"],
    blocks: { endpoint: { attributes: ["url", "name", "headers"], required: ["url"], exports: [] } },
    exports: ["receiver"],
  },
};

/** Parses Alloy text into its top-level blocks; throws at the first syntax error, naming the line. */
export function parseAlloy(text: string): AlloyBlock[] {
  const tokens = tokenize(text);
  let i = 0;
  const peek = () => tokens[i];
  const fail = (what: string): never => {
    const t = tokens[i] ?? tokens[tokens.length - 1];
    throw new Error(`line ${t?.line ?? 0}: expected ${what}, found ${JSON.stringify(t?.text ?? "end of text")}`);
  };
  const take = (text: string) => (peek()?.text === text ? tokens[i++] : fail(JSON.stringify(text)));
  const ident = () => (peek()?.kind === "ident" ? tokens[i++].text : fail("a name"));

  function value(): Value {
    const t = peek() ?? fail("a value");
    if (t.kind === "string") return (i++, { kind: "string", value: JSON.parse(t.text) as string });
    if (t.kind === "number") return (i++, { kind: "number" });
    if (t.text === "true" || t.text === "false") return (i++, { kind: "bool" });
    if (t.text === "[") {
      i++;
      const items: Value[] = [];
      while (peek()?.text !== "]") {
        items.push(value());
        if (peek()?.text === ",") i++;
        else break;
      }
      take("]");
      return { kind: "list", items };
    }
    if (t.text === "{") {
      i++;
      const entries: Record<string, Value> = {};
      while (peek()?.text !== "}") {
        const k = peek()?.kind === "string" ? JSON.parse(tokens[i++].text) : ident();
        take("=");
        entries[k] = value();
        if (peek()?.text === ",") i++;
        else break;
      }
      take("}");
      return { kind: "object", entries };
    }
    if (t.kind === "ident") return (i++, { kind: "ref", path: t.text });
    return fail("a value");
  }

  function body(): { attributes: Record<string, Value>; blocks: AlloyBlock[] } {
    const attributes: Record<string, Value> = {};
    const blocks: AlloyBlock[] = [];
    while (peek() && peek().text !== "}") {
      const name = ident();
      if (peek()?.text === "=") {
        i++;
        if (name in attributes) fail(`one ${name}`);
        attributes[name] = value();
        continue;
      }
      const label = peek()?.kind === "string" ? (JSON.parse(tokens[i++].text) as string) : undefined;
      take("{");
      const inner = body();
      take("}");
      blocks.push({ name, label, ...inner });
    }
    return { attributes, blocks };
  }

  const top = body();
  if (i < tokens.length) fail("a block or attribute");
  if (Object.keys(top.attributes).length > 0) throw new Error("attributes outside any block");
  return top.blocks;
}

interface Token {
  readonly kind: "ident" | "string" | "number" | "punct";
  readonly text: string;
  readonly line: number;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const pattern =
    /\s+|\/\/[^\n]*|("(?:[^"\\\n]|\\.)*")|([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)|(\d+(?:\.\d+)?)|([{}[\]=,])|(.)/gy;
  let line = 1;
  for (let m = pattern.exec(text); m && m[0] !== ""; m = pattern.exec(text)) {
    if (m[1]) tokens.push({ kind: "string", text: m[1], line });
    else if (m[2]) tokens.push({ kind: "ident", text: m[2], line });
    else if (m[3]) tokens.push({ kind: "number", text: m[3], line });
    else if (m[4]) tokens.push({ kind: "punct", text: m[4], line });
    else if (m[5]) throw new Error(`line ${line}: unexpected character ${JSON.stringify(m[5])}`);
    line += (m[0].match(/\n/g) ?? []).length;
    if (pattern.lastIndex >= text.length) break;
  }
  return tokens;
}

/** Every problem with the config's components, arguments and references; empty when it holds together. */
export function alloyProblems(text: string): string[] {
  const problems: string[] = [];
  const blocks = parseAlloy(text);
  const defined = new Map<string, Schema>();
  for (const b of blocks) {
    const schema = ALLOY_COMPONENTS[b.name];
    if (!schema) problems.push(`${b.name}: not a component this project uses`);
    else if (b.label === undefined) problems.push(`${b.name}: a component needs a label`);
    else if (defined.has(`${b.name}.${b.label}`)) problems.push(`${b.name}.${b.label}: defined twice`);
    else defined.set(`${b.name}.${b.label}`, schema);
  }
  const check = (b: AlloyBlock, schema: Schema, at: string) => {
    for (const a of Object.keys(b.attributes))
      if (!schema.attributes.includes(a)) problems.push(`${at}: unknown argument ${a}`);
    for (const a of schema.required ?? []) if (!(a in b.attributes)) problems.push(`${at}: missing argument ${a}`);
    for (const inner of b.blocks) {
      const innerSchema = schema.blocks?.[inner.name];
      if (!innerSchema) problems.push(`${at}: unknown block ${inner.name}`);
      else check(inner, innerSchema, `${at} ${inner.name}`);
    }
    const refs = (v: Value): string[] =>
      v.kind === "ref"
        ? [v.path]
        : v.kind === "list"
          ? v.items.flatMap(refs)
          : v.kind === "object"
            ? Object.values(v.entries).flatMap(refs)
            : [];
    for (const path of Object.values(b.attributes).flatMap(refs)) {
      const dot = path.lastIndexOf(".");
      const target = defined.get(path.slice(0, dot));
      if (!target) problems.push(`${at}: ${path} names no component defined here`);
      else if (!target.exports.includes(path.slice(dot + 1)))
        problems.push(`${at}: ${path.slice(0, dot)} exports no ${path.slice(dot + 1)}`);
    }
  };
  for (const b of blocks) {
    const schema = ALLOY_COMPONENTS[b.name];
    if (schema) check(b, schema, `${b.name} ${JSON.stringify(b.label)}`);
  }
  return problems;
}
