// The kernel's input history, persisted per project so that it survives a kernel restart (Jupyter
// messaging spec 5.3, "History"). One JSON line per executed cell in <project>/.cache/kernel-history.jsonl
// (PREFOPT_KERNEL_HISTORY overrides the path): {"session": s, "line": n, "input": code, "output": text|null}.
// Each kernel start is a new session, numbered one above the highest in the file. A line is appended with
// one write, so a crash can at worst leave a torn last line: that line is reported on the kernel's stderr
// (file and line number) and skipped, never silently.
const fs = require("fs");
const path = require("path");

function globToRegExp(pattern) {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[\\s\\S]*").replace(/\?/g, "[\\s\\S]");
  return new RegExp(`^${body}$`);
}

class KernelHistory {
  constructor(file, warn = (m) => console.error(m)) {
    this.file = file;
    this.warn = warn;
    this.entries = this.read();
    this.session = this.entries.reduce((m, e) => Math.max(m, e.session), 0) + 1;
  }

  read() {
    let text;
    try {
      text = fs.readFileSync(this.file, "utf8");
    } catch (e) {
      if (e.code === "ENOENT") return [];
      this.warn(`kernel: history ${this.file} cannot be read (${e.message}); starting without it`);
      return [];
    }
    const out = [];
    text.split("\n").forEach((line, i) => {
      if (line.trim() === "") return;
      try {
        const e = JSON.parse(line);
        if (!Number.isInteger(e.session) || !Number.isInteger(e.line) || typeof e.input !== "string")
          throw new Error("needs integer session and line and a string input");
        out.push({ session: e.session, line: e.line, input: e.input, output: e.output ?? null });
      } catch (err) {
        this.warn(`kernel: history ${this.file}:${i + 1}: skipped (${err.message})`);
      }
    });
    return out;
  }

  /** Records one executed cell of the current session. */
  record(line, input, output = null) {
    const entry = { session: this.session, line, input, output };
    this.entries.push(entry);
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      fs.appendFileSync(this.file, JSON.stringify(entry) + "\n");
    } catch (e) {
      this.warn(`kernel: history ${this.file}: could not append (${e.message}); kept in memory only`);
    }
  }

  /**
   * The `history` list of a history_reply for a history_request's content: [session, line, input] items, or
   * [session, line, [input, output]] when `output` is asked for. tail: the last n; range: lines
   * [start, stop) of one session (0 = this one, negative = that many before it); search: inputs matching a
   * glob pattern (* and ?), the last n, each input once when `unique`.
   */
  query(req) {
    const item = (e) => (req.output ? [e.session, e.line, [e.input, e.output]] : [e.session, e.line, e.input]);
    const last = (list, n) => (Number.isInteger(n) && n >= 0 ? list.slice(Math.max(0, list.length - n)) : list);
    switch (req.hist_access_type) {
      case "tail":
        return last(this.entries, req.n ?? 10).map(item);
      case "range": {
        const s = req.session ?? 0;
        const session = s <= 0 ? this.session + s : s;
        const start = req.start ?? 0;
        const stop = req.stop ?? Infinity;
        return this.entries.filter((e) => e.session === session && e.line >= start && e.line < stop).map(item);
      }
      case "search": {
        const re = globToRegExp(req.pattern ?? "*");
        let hits = this.entries.filter((e) => re.test(e.input));
        if (req.unique) {
          const seen = new Set();
          hits = hits.reverse().filter((e) => !seen.has(e.input) && seen.add(e.input)).reverse();
        }
        return last(hits, req.n).map(item);
      }
      default:
        throw new Error(`hist_access_type must be tail, range or search, got ${JSON.stringify(req.hist_access_type)}`);
    }
  }
}

module.exports = { KernelHistory, globToRegExp };
