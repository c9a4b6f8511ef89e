/**
 * The JSON dialect rt-app files are written in, as workgen (doc/workgen)
 * accepts it before handing the file to rt-app: C and C++ comments,
 * trailing commas, and repeated keys in one object. Repeated keys are the
 * point: "run", "sleep", "run", "sleep" is a phase of four events, so an
 * object is kept as its entries in file order, never as a map.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;

/** An object as written: every entry, repeated keys included, in file order. */
export interface JsonObject {
  readonly kind: "object";
  readonly entries: readonly (readonly [string, JsonValue])[];
}

/** Where parsing stopped, with the line and column of the offending text. */
export class JsonSyntaxError extends Error {
  override readonly name = "JsonSyntaxError";
  constructor(
    readonly line: number,
    readonly column: number,
    readonly detail: string,
  ) {
    super(`line ${line}, column ${column}: ${detail}`);
  }
}

/** Nesting deeper than this is refused (a file is a few levels deep). */
const MAX_DEPTH = 64;

export function is_object(v: JsonValue | undefined): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The last entry named `key`, as json-c keeps it; undefined when absent. */
export function get(o: JsonObject, key: string): JsonValue | undefined {
  let found: JsonValue | undefined;
  for (const [k, v] of o.entries) if (k === key) found = v;
  return found;
}

/** Parses the whole text into one value. */
export function parse_json(text: string): JsonValue {
  const p = new Parser(text);
  p.skip();
  const v = p.value(0);
  p.skip();
  if (p.pos < text.length) p.fail("unexpected text after the end of the document");
  return v;
}

class Parser {
  pos = 0;
  constructor(private readonly text: string) {}

  fail(detail: string): never {
    let line = 1;
    let start = 0;
    for (let i = 0; i < this.pos && i < this.text.length; i++) {
      if (this.text.charCodeAt(i) === 10) {
        line++;
        start = i + 1;
      }
    }
    throw new JsonSyntaxError(line, this.pos - start + 1, detail);
  }

  /** Whitespace and comments. */
  skip(): void {
    const t = this.text;
    for (;;) {
      const c = t[this.pos];
      if (c === " " || c === "\t" || c === "\n" || c === "\r") this.pos++;
      else if (c === "/" && t[this.pos + 1] === "/") {
        const end = t.indexOf("\n", this.pos);
        this.pos = end < 0 ? t.length : end + 1;
      } else if (c === "/" && t[this.pos + 1] === "*") {
        const end = t.indexOf("*/", this.pos + 2);
        if (end < 0) this.fail("unterminated /* comment");
        this.pos = end + 2;
      } else return;
    }
  }

  value(depth: number): JsonValue {
    if (depth > MAX_DEPTH) this.fail(`nested more than ${MAX_DEPTH} levels deep`);
    const c = this.text[this.pos];
    if (c === "{") return this.object(depth);
    if (c === "[") return this.array(depth);
    if (c === '"') return this.string();
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return this.number();
    for (const [word, v] of [["true", true], ["false", false], ["null", null]] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return v;
      }
    }
    return this.fail(c === undefined ? "unexpected end of the document" : `unexpected ${JSON.stringify(c)}`);
  }

  private object(depth: number): JsonObject {
    const entries: [string, JsonValue][] = [];
    this.pos++;
    for (;;) {
      this.skip();
      if (this.text[this.pos] === "}") break;
      if (this.text[this.pos] !== '"') this.fail('expected a "key" or }');
      const key = this.string();
      this.skip();
      if (this.text[this.pos] !== ":") this.fail(`expected : after the key ${JSON.stringify(key)}`);
      this.pos++;
      this.skip();
      entries.push([key, this.value(depth + 1)]);
      if (!this.separator("}")) break;
    }
    this.pos++;
    return { kind: "object", entries };
  }

  private array(depth: number): JsonValue[] {
    const items: JsonValue[] = [];
    this.pos++;
    for (;;) {
      this.skip();
      if (this.text[this.pos] === "]") break;
      items.push(this.value(depth + 1));
      if (!this.separator("]")) break;
    }
    this.pos++;
    return items;
  }

  /** After an item: a comma (true: more may follow) or the closing bracket (false). */
  private separator(close: string): boolean {
    this.skip();
    const c = this.text[this.pos];
    if (c === ",") {
      this.pos++;
      return true;
    }
    if (c !== close) this.fail(`expected , or ${close}`);
    return false;
  }

  private string(): string {
    // JSON forbids raw control characters in strings: the class excludes them.
    // eslint-disable-next-line no-control-regex
    const m = /^"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/.exec(this.text.slice(this.pos, this.pos + 65536));
    if (!m) this.fail("bad string");
    this.pos += m[0].length;
    return JSON.parse(m[0]) as string;
  }

  private number(): number {
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(this.text.slice(this.pos, this.pos + 64));
    if (!m) this.fail("bad number");
    this.pos += m[0].length;
    return Number(m[0]);
  }
}
