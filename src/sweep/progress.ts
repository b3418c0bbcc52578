// A progress bar with throughput and ETA on stderr. On a terminal it redraws one line; elsewhere (CI
// logs, notebooks) it prints a line per 10% step (at most one a second) or every `everyMs`, so logs stay short.

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

  constructor(
    readonly total: number,
    readonly label: string,
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr,
    private readonly everyMs = 5000,
    readonly quiet = false,
  ) {
    this.tty = Boolean(out.isTTY);
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

  render(final: boolean): void {
    if (this.quiet) return;
    const s = this.state();
    const finished = s.done + s.failed;
    const decile = s.total === 0 ? 10 : Math.floor((finished / s.total) * 10);
    const now = Date.now();
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
    this.render(true);
  }
}
