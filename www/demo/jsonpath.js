// Maps the JSON paths that key set errors name ($.keys[3].allow_cidrs[0], $["x y"]) to where
// they are in the editor's text, so an error can say "line 12" and select the offending value.
// A small tolerant scanner: it records what it could read before a syntax error.

/** The path segment for an object member, as the verifier writes it. */
function memberPath(parent, name) {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? `${parent}.${name}` : `${parent}[${JSON.stringify(name)}]`;
}

class Scanner {
  constructor(text) {
    this.text = text;
    this.i = 0;
    /** path -> { start, end } of the value (for a member: its name through its value) */
    this.spans = new Map();
  }

  ws() {
    while (this.i < this.text.length && ' \t\r\n'.includes(this.text[this.i])) this.i += 1;
  }

  fail() {
    throw new SyntaxError(`unexpected input at offset ${this.i}`);
  }

  string() {
    if (this.text[this.i] !== '"') this.fail();
    const start = this.i;
    this.i += 1;
    while (this.i < this.text.length && this.text[this.i] !== '"') {
      this.i += this.text[this.i] === '\\' ? 2 : 1;
    }
    if (this.i >= this.text.length) this.fail();
    this.i += 1;
    return JSON.parse(this.text.slice(start, this.i));
  }

  value(path) {
    this.ws();
    const start = this.i;
    const c = this.text[this.i];
    if (c === '{') this.object(path);
    else if (c === '[') this.array(path);
    else if (c === '"') this.string();
    else {
      const m = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(this.text.slice(this.i, this.i + 400));
      if (!m) this.fail();
      this.i += m[0].length;
    }
    this.spans.set(path, { start, end: this.i });
  }

  object(path) {
    this.i += 1;
    this.ws();
    if (this.text[this.i] === '}') {
      this.i += 1;
      return;
    }
    for (;;) {
      this.ws();
      const nameStart = this.i;
      const name = this.string();
      this.ws();
      if (this.text[this.i] !== ':') this.fail();
      this.i += 1;
      const member = memberPath(path, name);
      this.value(member);
      // Unknown-field and duplicate errors name the member: select its name too.
      this.spans.set(member, { start: nameStart, end: this.spans.get(member).end });
      this.ws();
      if (this.text[this.i] === ',') this.i += 1;
      else if (this.text[this.i] === '}') {
        this.i += 1;
        return;
      } else this.fail();
    }
  }

  array(path) {
    this.i += 1;
    this.ws();
    if (this.text[this.i] === ']') {
      this.i += 1;
      return;
    }
    for (let n = 0; ; n += 1) {
      this.value(`${path}[${n}]`);
      this.ws();
      if (this.text[this.i] === ',') this.i += 1;
      else if (this.text[this.i] === ']') {
        this.i += 1;
        return;
      } else this.fail();
    }
  }
}

/** Every path found in `text`, with its span (partial when the JSON is broken). */
export function jsonSpans(text) {
  const s = new Scanner(text);
  try {
    s.value('$');
  } catch {
    // keep what was read
  }
  return s.spans;
}

/** 1-based line and column of a character offset. */
export function lineColumn(text, offset) {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

/**
 * Where an error points: the span of its path, or of the nearest enclosing path found; for a
 * syntax error ("... at line L column C") that position.
 */
export function locate(text, spans, error) {
  const at = /at line (\d+) column (\d+)/.exec(error.message);
  if (error.path === '$' && at) {
    const lines = text.split('\n');
    const line = Math.min(Number(at[1]), lines.length);
    let offset = 0;
    for (let k = 0; k < line - 1; k += 1) offset += lines[k].length + 1;
    offset += Math.max(0, Math.min(Number(at[2]) - 1, lines[line - 1].length));
    return { start: offset, end: Math.min(offset + 1, text.length) };
  }
  let path = error.path;
  while (path) {
    const span = spans.get(path);
    if (span) return span;
    const cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
    if (cut <= 0) break;
    path = path.slice(0, cut);
  }
  return spans.get('$') ?? { start: 0, end: 0 };
}
