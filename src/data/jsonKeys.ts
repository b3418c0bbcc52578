// Duplicate keys in JSON text. JSON.parse keeps the last value of a repeated key and drops the others
// without a word (RFC 8259 §4 leaves duplicate names undefined), so a record like
// {"chosen": "a", "chosen": "b"} would silently lose "a". This scanner finds the first repeated key of
// any object in one pass (strings are skipped with indexOf, so the cost is linear in the text).

/** The first key that appears twice in one JSON object of `text` (escapes decoded), or undefined. */
export function duplicateJsonKey(text: string): string | undefined {
  const objects: Array<Set<string> | null> = []; // one entry per open {…} (a key set) or […] (null)
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: find its closing quote (one not preceded by an odd number of backslashes).
      let q = i;
      for (;;) {
        q = text.indexOf('"', q + 1);
        if (q < 0) return undefined; // unterminated: JSON.parse reports it
        let b = q - 1;
        while (text.charCodeAt(b) === 0x5c) b--;
        if ((q - 1 - b) % 2 === 0) break;
      }
      const raw = text.slice(i + 1, q);
      i = q + 1;
      const keys = objects[objects.length - 1];
      if (keys) {
        let k = i;
        while (
          k < n &&
          (text.charCodeAt(k) === 0x20 ||
            text.charCodeAt(k) === 0x09 ||
            text.charCodeAt(k) === 0x0a ||
            text.charCodeAt(k) === 0x0d)
        )
          k++;
        if (text.charCodeAt(k) === 0x3a) {
          // Followed by ':' inside an object: a key.
          let key = raw;
          if (raw.includes("\\")) {
            try {
              key = JSON.parse(`"${raw}"`) as string;
            } catch {
              return undefined;
            }
          }
          if (keys.has(key)) return key;
          keys.add(key);
        }
      }
      continue;
    }
    if (c === 0x7b) objects.push(new Set());
    else if (c === 0x5b) objects.push(null);
    else if (c === 0x7d || c === 0x5d) objects.pop();
    i++;
  }
  return undefined;
}
