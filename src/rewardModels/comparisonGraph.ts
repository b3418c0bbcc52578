// When does the Bradley–Terry / Plackett–Luce maximum-likelihood estimate exist? Exactly when the directed
// graph with an edge i → j whenever "i beat j" is strongly connected (Ford 1957; Hunter 2004, Assumption 1):
// otherwise some group of items never loses to the rest and its utilities can grow without bound.

/** Throws an error naming the offending items unless the "i beat j" graph on nItems is strongly connected. */
export function assertMleExists(
  where: string,
  edges: Array<[number, number]>,
  nItems: number,
  itemNames?: string[],
): void {
  const name = (i: number): string => (itemNames && itemNames[i] !== undefined ? `${i} (${itemNames[i]})` : String(i));
  const out: number[][] = Array.from({ length: nItems }, () => []);
  const inn: number[][] = Array.from({ length: nItems }, () => []);
  for (const [w, l] of edges) {
    out[w].push(l);
    inn[l].push(w);
  }
  const components = stronglyConnectedComponents(out, inn);
  if (components.length <= 1) return;
  const never = (adj: number[][]) => adj.flatMap((a, i) => (a.length === 0 ? [i] : []));
  const noWin = never(out);
  const noLoss = never(inn);
  const parts: string[] = [];
  const unseen = noWin.filter((i) => noLoss.includes(i));
  if (unseen.length) parts.push(`never compared: ${list(unseen, name)}`);
  const onlyLose = noWin.filter((i) => !unseen.includes(i));
  const onlyWin = noLoss.filter((i) => !unseen.includes(i));
  if (onlyLose.length) parts.push(`never win: ${list(onlyLose, name)}`);
  if (onlyWin.length) parts.push(`never lose: ${list(onlyWin, name)}`);
  // The top component (no item outside beats it) is the group whose utility can grow without bound.
  const groups = components.slice(0, 6).map((c) => `{${list(c, name)}}`);
  parts.push(
    `the "i beat j" graph splits into ${components.length} strongly connected groups: ${groups.join(", ")}` +
      (components.length > 6 ? ", …" : ""),
  );
  throw new Error(
    `${where}: the maximum-likelihood estimate does not exist (Hunter 2004, Assumption 1): ${parts.join("; ")}. ` +
      "Add comparisons, drop those items, or pass l2 > 0 to regularise.",
  );
}

function list(items: number[], name: (i: number) => string): string {
  const shown = items.slice(0, 20).map(name).join(", ");
  return items.length > 20 ? `${shown}, … (${items.length} items)` : shown;
}

/** Kosaraju's algorithm, iterative; components in topological order of the condensation. */
function stronglyConnectedComponents(out: number[][], inn: number[][]): number[][] {
  const n = out.length;
  const seen = new Uint8Array(n);
  const order: number[] = [];
  for (let s = 0; s < n; s++) {
    if (seen[s]) continue;
    const stack: Array<[number, number]> = [[s, 0]];
    seen[s] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [v, k] = top;
      if (k < out[v].length) {
        top[1]++;
        const u = out[v][k];
        if (!seen[u]) {
          seen[u] = 1;
          stack.push([u, 0]);
        }
      } else {
        order.push(v);
        stack.pop();
      }
    }
  }
  const comp = new Int32Array(n).fill(-1);
  const components: number[][] = [];
  for (let idx = n - 1; idx >= 0; idx--) {
    const s = order[idx];
    if (comp[s] >= 0) continue;
    const members: number[] = [];
    const stack = [s];
    comp[s] = components.length;
    while (stack.length) {
      const v = stack.pop()!;
      members.push(v);
      for (const u of inn[v]) {
        if (comp[u] < 0) {
          comp[u] = components.length;
          stack.push(u);
        }
      }
    }
    components.push(members.sort((a, b) => a - b));
  }
  return components;
}
