// tslab 1.0.22 rewrites a reference to an earlier cell's variable `x` as `exports.x` (its converter's
// wrapPrevIdentifier), but misses shorthand properties: in a later cell `{ beta }` stays `{ beta }` and
// fails at run time with "ReferenceError: beta is not defined" (the checker resolves the shorthand's name
// to the property, not to the variable). Before tslab converts a cell, kernel-patches.js spells every
// shorthand property out (`{ beta }` → `{ beta: beta }`, `{ a = 1 } = o` → `{ a: a = 1 } = o`), which
// means the same in JavaScript and is then rewritten like any other reference. Columns in error messages
// on a line after an expanded shorthand shift by its added characters; line numbers do not change.

/** The cell's source with each shorthand property assignment written as `name: name`. */
function expandShorthandProperties(ts, src) {
  const sf = ts.createSourceFile("cell.ts", src, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const ends = [];
  const visit = (node) => {
    if (ts.isShorthandPropertyAssignment(node)) ends.push([node.name.getEnd(), node.name.text]);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  let out = src;
  for (const [end, name] of ends.sort((a, b) => b[0] - a[0])) out = `${out.slice(0, end)}: ${name}${out.slice(end)}`;
  return out;
}

module.exports = { expandShorthandProperties };
