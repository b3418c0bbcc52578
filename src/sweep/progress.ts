// A progress bar with throughput and ETA on stderr. On a terminal it redraws one line; elsewhere (CI
// logs) it prints a line per 10% step (at most one a second) or every `everyMs`, so logs stay short. In a
// notebook cell it is one display replaced in place. A heartbeat redraws it every `everyMs` while no run has
// finished yet (elapsed time moves), so a sweep whose first run takes a minute is not silent.
import { inKernelCell, sendToKernel } from "../kernelOutput";

function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return "--:--";
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0
    ? `${h}:${String(m).padStart(2, "0")}:${String(sec).padStart(2, "0")}`
    : `${m}:${String(sec).padStart(2, "0")}`;
}

export interface ProgressState {
  done: number;
  failed: number;
  total: number;
  elapsedSeconds: number;
  runsPerSecond: number;
  etaSeconds: number;
}

export class ProgressBar {
  private readonly t0 = Date.now();
  private done = 0;
  private failed = 0;
  private lastPrint = 0;
  private lastDecile = -1;
  private readonly tty: boolean;
  private readonly displayId?: string;
  private displayed = false;
  private heartbeat?: ReturnType<typeof setInterval>;

  constructor(
    readonly total: number,
    readonly label: string,
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr,
    private readonly everyMs = 5000,
    readonly quiet = false,
  ) {
    this.tty = Boolean(out.isTTY);
    if (out === process.stderr && inKernelCell()) this.displayId = `prefopt-sweep-${process.pid}-${Date.now()}`;
    if (!quiet) {
      // Timers run while workers compute (and between in-thread runs); unref'd, so they never keep a process up.
      this.heartbeat = setInterval(() => this.render(false, true), Math.min(everyMs, this.displayId ? 1000 : everyMs));
      this.heartbeat.unref?.();
      this.render(false, true);
    }
  }

  /** Stop the heartbeat (finish() does; call it when the sweep ends early, e.g. interrupted). */
  stop(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  state(): ProgressState {
    const elapsedSeconds = (Date.now() - this.t0) / 1000;
    const finished = this.done + this.failed;
    const runsPerSecond = elapsedSeconds > 0 ? finished / elapsedSeconds : 0;
    const etaSeconds = runsPerSecond > 0 ? (this.total - finished) / runsPerSecond : Infinity;
    return { done: this.done, failed: this.failed, total: this.total, elapsedSeconds, runsPerSecond, etaSeconds };
  }

  tick(ok: boolean): void {
    if (ok) this.done++;
    else this.failed++;
    this.render(false);
  }

  line(): string {
    const s = this.state();
    const finished = s.done + s.failed;
    const frac = s.total === 0 ? 1 : finished / s.total;
    const width = 24;
    const filled = Math.round(frac * width);
    const bar = "█".repeat(filled) + "░".repeat(width - filled);
    const failed = s.failed > 0 ? ` ${s.failed} failed` : "";
    return `${this.label} ${bar} ${finished}/${s.total} ${(frac * 100).toFixed(0)}% ${s.runsPerSecond.toFixed(2)} runs/s elapsed ${clock(s.elapsedSeconds)} ETA ${clock(s.etaSeconds)}${failed}`;
  }

  render(final: boolean, beat = false): void {
    if (this.quiet) return;
    const s = this.state();
    const finished = s.done + s.failed;
    const decile = s.total === 0 ? 10 : Math.floor((finished / s.total) * 10);
    const now = Date.now();
    if (this.displayId) {
      if (!final && !beat && now - this.lastPrint < 250) return;
      this.lastPrint = now;
      const line = this.line() + (finished === 0 && !final ? " (first run in progress)" : "");
      const html = `<div class="prefopt-progress" style="font-family:monospace;font-size:90%">${line.replace(/&/g, "&amp;").replace(/</g, "&lt;")}</div>`;
      sendToKernel({ "text/html": html, "text/plain": line }, { displayId: this.displayId, update: this.displayed });
      this.displayed = true;
      return;
    }
    // Heartbeats only until the first run finishes; after that the runs' own ticks keep the output moving.
    if (beat && (finished > 0 || now - this.t0 < this.everyMs)) return;
    if (this.tty) {
      if (!final && now - this.lastPrint < 100) return;
      this.lastPrint = now;
      this.out.write(`\r\x1b[2K${this.line()}${final ? "\n" : ""}`);
      return;
    }
    // Logs and notebooks: a line per 10% step at most once a second, else one every `everyMs`.
    const due = now - this.lastPrint >= this.everyMs || (decile !== this.lastDecile && now - this.lastPrint >= 1000);
    if (!final && !due) return;
    this.lastDecile = decile;
    this.lastPrint = now;
    this.out.write(this.line() + "\n");
  }

  finish(): void {
    this.stop();
    this.render(true);
  }
}
