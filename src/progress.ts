// Progress of long work, shown where the user looks: in a notebook one display per loop, replaced in place
// (display_data, then update_display_data with the same display_id) with the step, the loss or metric, the
// rate and the ETA; in a terminal a line on stderr (redrawn on a TTY, one line per `every` steps in logs).
// Trainers call reportProgress once per step (SFT, preference training, PPO, reward models, sampling);
// multi-stage pipelines (Figure 2) call reportStage once per stage. Bottom layer: no project imports but
// the kernel's display channel.
//
// Rate and ETA: rate = (step − step₀) / (t − t₀) steps per second since the loop's first report,
// ETA = (total − step) / rate.
import { inKernelCell, sendToKernel } from "./kernelOutput";
import { interruptState } from "./interrupt";

/** "m:ss" or "h:mm:ss"; "--:--" when unknown (no rate yet). */
export function clockText(seconds: number): string {
  if (!Number.isFinite(seconds)) return "--:--";
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const mmss = `${String(m).padStart(h > 0 ? 2 : 1, "0")}:${String(s % 60).padStart(2, "0")}`;
  return h > 0 ? `${h}:${mmss}` : mmss;
}

export interface ProgressSnapshot {
  label: string;
  step: number;
  total: number;
  metric: string;
  elapsedSeconds: number;
  /** Steps per second since the first report (NaN before a second report). */
  rate: number;
  etaSeconds: number;
  done: boolean;
}

/** One line: "SFT 120/300 (40%) · loss 1.234 · 35.2 steps/s · ETA 0:05" (done: "… · 8.5 s"). */
export function progressText(p: ProgressSnapshot): string {
  const pct = p.total > 0 ? ` (${Math.floor((100 * p.step) / p.total)}%)` : "";
  const metric = p.metric ? ` · ${p.metric}` : "";
  const rate = Number.isFinite(p.rate) ? ` · ${p.rate >= 10 ? p.rate.toFixed(0) : p.rate.toPrecision(2)} steps/s` : "";
  const tail = p.done ? ` · done in ${p.elapsedSeconds.toFixed(1)} s` : ` · ETA ${clockText(p.etaSeconds)}`;
  return `${p.label} ${p.step}/${p.total}${pct}${metric}${rate}${tail}`;
}

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A <progress> bar and the text line. */
export function progressHtml(p: ProgressSnapshot): string {
  return (
    `<div class="prefopt-progress" style="font-family:monospace;font-size:90%">` +
    `<progress value="${p.step}" max="${Math.max(p.total, 1)}" style="width:12em;vertical-align:middle"></progress> ` +
    `${escape(progressText(p))}</div>`
  );
}

/** Where progress goes; the default picks the kernel display or stderr. Tests substitute their own. */
export interface ProgressSink {
  /** Show `p`; `first` is the loop's first report, `last` its last. */
  show(p: ProgressSnapshot, id: string, first: boolean): void;
}

let displays = 0;

/** Kernel displays and terminals: a loop shows nothing until it has run `delayMs` (short loops leave no output). */
export const progressSettings = { delayMs: 1000 };

/**
 * In a kernel cell: a display replaced in place, at most every 250 ms (and always the last), once the loop
 * has run progressSettings.delayMs (a loop done sooner shows nothing, so quick calls do not litter the cell).
 */
function kernelSink(): ProgressSink {
  let lastMs = -Infinity;
  let shown = false;
  return {
    show(p, id) {
      const now = Date.now();
      if (!shown && p.elapsedSeconds * 1000 < progressSettings.delayMs) return;
      if (shown && !p.done && now - lastMs < 250) return;
      lastMs = now;
      sendToKernel({ "text/html": progressHtml(p), "text/plain": progressText(p) }, { displayId: id, update: shown });
      shown = true;
    },
  };
}

/** In a terminal: the line redrawn (TTY) or one line per `every` steps and the last (logs; none when `every` is 0). */
function stderrSink(every: number): ProgressSink {
  const tty = Boolean(process.stderr.isTTY);
  let lastMs = -Infinity;
  let shown = false;
  return {
    show(p) {
      if (tty) {
        // Like the kernel display: nothing for a loop done within delayMs (no line per quick sampling call).
        if (!shown && p.elapsedSeconds * 1000 < progressSettings.delayMs) return;
        shown = true;
        const now = Date.now();
        if (!p.done && now - lastMs < 100) return;
        lastMs = now;
        process.stderr.write(`\r\x1b[2K${progressText(p)}${p.done ? "\n" : ""}`);
      } else if (every > 0 && (p.done || p.step % every === 0)) process.stderr.write(progressText(p) + "\n");
    },
  };
}

/** Progress of one loop of `total` steps. */
export class Progress {
  private readonly t0: number;
  private readonly step0: number;
  private shown = false;
  private finished = false;
  private last = 0;
  readonly id = `prefopt-progress-${process.pid}-${++displays}`;
  private readonly sink: ProgressSink;

  constructor(
    readonly label: string,
    readonly total: number,
    opts: { startStep?: number; every?: number; sink?: ProgressSink; now?: () => number } = {},
  ) {
    this.now = opts.now ?? (() => performance.now());
    this.t0 = this.now();
    this.step0 = opts.startStep ?? 0;
    this.last = this.step0;
    this.sink = opts.sink ?? (inKernelCell() ? kernelSink() : stderrSink(opts.every ?? 10));
  }

  private readonly now: () => number;

  get lastStep(): number {
    return this.last;
  }

  get isFinished(): boolean {
    return this.finished;
  }

  snapshot(step: number, metric = ""): ProgressSnapshot {
    const elapsedSeconds = (this.now() - this.t0) / 1000;
    const rate = step > this.step0 && elapsedSeconds > 0 ? (step - this.step0) / elapsedSeconds : NaN;
    const etaSeconds = rate > 0 ? (this.total - step) / rate : Infinity;
    const done = step >= this.total;
    return { label: this.label, step, total: this.total, metric, elapsedSeconds, rate, etaSeconds, done };
  }

  /** Report that `step` of `total` steps are done; the report of step `total` finishes the display. */
  update(step: number, metric = ""): void {
    if (this.finished) return;
    this.last = step;
    const p = this.snapshot(step, metric);
    this.sink.show(p, this.id, !this.shown);
    this.shown = true;
    this.finished = p.done;
  }
}

/** The loops reporting now, by label (a report with a step not above the last starts a new loop). */
const running = new Map<string, { progress: Progress; lastMs: number }>();

/**
 * Report step `step` of `total` of the loop called `label` (one line in a trainer's step). A report while
 * another loop is running (reported in the last 2 s, not finished) is nested (PPO's sampling, a sweep's
 * runs) and shows nothing, so an outer loop keeps one display. `every`: logs (stderr not a TTY) get every n-th step
 * and the last; 0 keeps logs silent (loops without a verbose switch, e.g. sampling).
 */
export function reportProgress(label: string, step: number, total: number, metric = "", every = 10): void {
  const now = Date.now();
  let entry = running.get(label);
  if (!entry || step <= entry.progress.lastStep || entry.progress.isFinished) {
    const outer = [...running.entries()].some(
      ([l, e]) => l !== label && !e.progress.isFinished && now - e.lastMs < 2000,
    );
    if (outer) return;
    entry = { progress: new Progress(label, total, { startStep: step, every }), lastMs: now };
    running.set(label, entry);
  }
  entry.lastMs = now;
  entry.progress.update(step, metric);
  if (entry.progress.isFinished) running.delete(label);
}

type StageLog = { id: string; lines: string[]; t0: number };
/** Stage logs by cell (each kernel cell runs in its own interrupt scope), then by label. */
const stageLogs = new WeakMap<object, Map<string, StageLog>>();

/**
 * One stage of a multi-stage pipeline (Figure 2's data stages): a line on stderr in a terminal; in a
 * notebook the label's display (the stages so far, the last in bold, elapsed time) updated in place.
 * `final` ends the label's display (the next report starts a new one).
 */
export function reportStage(label: string, message: string, final = false): void {
  if (!inKernelCell()) {
    process.stderr.write(`${label} ${message}\n`);
    return;
  }
  // A later cell reporting the same label starts its own display instead of rewriting an earlier cell's.
  const cell = interruptState().scopes.getStore() ?? stageLogs;
  let logs = stageLogs.get(cell);
  if (!logs) stageLogs.set(cell, (logs = new Map()));
  let log = logs.get(label);
  const first = !log;
  if (!log) logs.set(label, (log = { id: `prefopt-stage-${process.pid}-${++displays}`, lines: [], t0: Date.now() }));
  log.lines.push(message);
  const elapsed = clockText((Date.now() - log.t0) / 1000);
  const html =
    `<div class="prefopt-progress" style="font-family:monospace;font-size:90%">${escape(label)} · ${elapsed}<br>` +
    log.lines.map((l, i) => (i === log!.lines.length - 1 ? `<b>${escape(l)}</b>` : escape(l))).join("<br>") +
    `</div>`;
  const text = `${label} · ${elapsed}\n${log.lines.join("\n")}`;
  sendToKernel({ "text/html": html, "text/plain": text }, { displayId: log.id, update: !first });
  if (final) logs.delete(label);
}
