// Cooperative interrupts for long library loops (SFT, preference training, PPO, sampling, sweeps).
//
// A Jupyter "interrupt" is a SIGINT to the kernel. tslab runs a cell's synchronous part under
// vm's `breakOnSigint`, which terminates it with an uncatchable V8 termination: no `finally` runs, so
// a training loop leaves its optimizer state and batches allocated (and tf's scope stack half-open),
// and an `await`ing cell is only abandoned ("Interrupted asynchronously") while its loop keeps going.
// Our kernel launcher (jupyter/kernels/prefopt/launch.js) therefore catches the first SIGINT itself
// and raises a counter that every loop polls with `throwIfInterrupted()` once per step; the loop then
// throws an ordinary InterruptedError and its try/finally frees what it allocated. Only if nothing
// polls within a grace period (user code with no checks) does the kernel fall back to tslab's hard stop.
//
// Each cell runs in its own interrupt scope (AsyncLocalStorage, so code a cell left running in the
// background still sees that cell's interrupt while the next cell runs unaffected). The state lives on
// globalThis because the launcher (plain JS) and the library (compiled by tslab) are different modules.
import { AsyncLocalStorage } from "async_hooks";

/** Slots of the shared counter array (shared with the launcher's SIGINT watcher thread). */
export const INTERRUPT_SLOTS = { requested: 0, honoured: 1, busy: 2, wake: 3 } as const;

interface InterruptScope {
  /** `requested` count when the scope began: a higher count means this scope was interrupted. */
  baseline: number;
}

interface InterruptState {
  counters: Int32Array;
  scopes: AsyncLocalStorage<InterruptScope>;
  /** Called by every throwIfInterrupted() before it checks (tests use it to interrupt at the n-th step). */
  onCheck?: () => void;
}

const KEY = Symbol.for("prefopt.interrupt");

/** The process-wide state (created on first use; the kernel launcher creates it before any cell runs). */
export function interruptState(): InterruptState {
  const g = globalThis as unknown as Record<symbol, InterruptState | undefined>;
  let s = g[KEY];
  if (!s) {
    s = { counters: new Int32Array(new SharedArrayBuffer(4 * 4)), scopes: new AsyncLocalStorage<InterruptScope>() };
    g[KEY] = s;
  }
  return s;
}

export class InterruptedError extends Error {
  constructor(message = "Interrupted (the kernel received an interrupt); what the loop had allocated is freed") {
    super(message);
    this.name = "InterruptedError";
  }
}

/**
 * True when the current interrupt scope (the kernel cell, or `withInterruptScope`) has been interrupted.
 * Code outside any scope (scripts, the sweep CLI) is never interrupted this way: Ctrl-C ends the process.
 */
export function interruptRequested(): boolean {
  const s = interruptState();
  const scope = s.scopes.getStore();
  return scope !== undefined && Atomics.load(s.counters, INTERRUPT_SLOTS.requested) > scope.baseline;
}

/**
 * Throws InterruptedError if the current scope was interrupted. Call once per step of a long loop,
 * at a point where the step's own tensors are already freed; free longer-lived state in a finally.
 */
export function throwIfInterrupted(): void {
  const s = interruptState();
  s.onCheck?.();
  if (!interruptRequested()) return;
  // Tell the launcher's watcher that a loop honoured the interrupt, so it does not hard-stop the cell.
  Atomics.store(s.counters, INTERRUPT_SLOTS.honoured, Atomics.load(s.counters, INTERRUPT_SLOTS.requested));
  throw new InterruptedError();
}

/** Runs `fn` in a fresh interrupt scope: interrupts requested before it began do not count. */
export function withInterruptScope<T>(fn: () => T): T {
  const s = interruptState();
  return s.scopes.run({ baseline: Atomics.load(s.counters, INTERRUPT_SLOTS.requested) }, fn);
}

/** Requests an interrupt of every scope running now (what a SIGINT does in the kernel; also for tests). */
export function requestInterrupt(): void {
  Atomics.add(interruptState().counters, INTERRUPT_SLOTS.requested, 1);
}
