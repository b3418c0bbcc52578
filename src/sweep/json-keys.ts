// Duplicate keys in JSON text. JSON.parse keeps the last of two equal keys without a word (YAML refuses
// them), so a sweep file that sets a field twice would run something other than it appears to. This
// scanner walks text that JSON.parse has already accepted and reports the first key that an object
// repeats (compared after unescaping, as JSON.parse compares them), with its field path and both lines.

/** A field path as segments (the same shape as config.ts's FieldPath, which imports this file). */
type FieldPath = Array<string | number>;

export interface DuplicateKey {
  /** Path of the repeated field (its object's path, then the key). */
  path: FieldPath;
  key: string;
  /** 1-based lines of the repeat and of the first occurrence. */
  line: number;
  firstLine: number;
}

/** The first repeated key in `text` (which must be valid JSON), or undefined. */
export function findDuplicateKey(text: string): DuplicateKey | undefined {
  let pos = 0;
  let line = 1;
  const skipSpace = (): void => {
    for (; pos < text.length; pos++) {
      const c = text[pos];
      if (c === "\n") line++;
      else if (c !== " " && c !== "\t" && c !== "\r") return;
    }
  };
  // Valid JSON strings hold no raw newline, so only whitespace moves the line counter.
  const readString = (): string => {
    const start = pos++;
    while (text[pos] !== '"') pos += text[pos] === "\\" ? 2 : 1;
    pos++;
    return JSON.parse(text.slice(start, pos)) as string;
  };
  const value = (at: FieldPath): DuplicateKey | undefined => {
    skipSpace();
    const c = text[pos];
    if (c === "{") {
      pos++;
      const seen = new Map<string, number>();
      skipSpace();
      if (text[pos] === "}") return void pos++;
      for (;;) {
        skipSpace();
        const keyLine = line;
        const key = readString();
        const first = seen.get(key);
        if (first !== undefined) return { path: [...at, key], key, line: keyLine, firstLine: first };
        seen.set(key, keyLine);
        skipSpace();
        pos++; // the colon
        const inner = value([...at, key]);
        if (inner) return inner;
        skipSpace();
        if (text[pos++] === "}") return undefined;
      }
    }
    if (c === "[") {
      pos++;
      skipSpace();
      if (text[pos] === "]") return void pos++;
      for (let i = 0; ; i++) {
        const inner = value([...at, i]);
        if (inner) return inner;
        skipSpace();
        if (text[pos++] === "]") return undefined;
      }
    }
    if (c === '"') return void readString();
    while (pos < text.length && !/[\s,\]}]/.test(text[pos])) pos++; // a number, true, false or null
    return undefined;
  };
  return value([]);
}
