// Runs experiment tasks on a pool of worker threads (or in this thread when workers = 0). The caller
// gets each result as it arrives, in completion order; the single writer (the caller) stores it.
//
// Workers run TypeScript without relying on the parent's flags: each starts from a tiny CommonJS
// bootstrap that registers tsx's require hook (tsx/cjs/api) and then requires worker.ts. That works
// under `node --import tsx`, plain node with tsx registered, and the tslab kernel alike.
import * as os from "os";
import * as path from "path";
import { Worker } from "worker_threads";
import { initBackend } from "../backend";
import type { JsonObject } from "./config";
import { declaredKindModules, getExperimentKind, jsonSafeMetrics, loadKindModules, type Metrics } from "./kinds";

export interface TaskMessage {
  id: string;
  kind: string;
  config: JsonObject;
  seed: number;
}

export type WorkerMessage =
  | { type: "ready" }
  | { type: "done"; id: string; metrics: Metrics; ms: number }
  | { type: "failed"; id: string; error: string; ms: number };

export interface PoolOptions {
  /** Worker threads; 0 runs every task in this thread, one after another. Default: number of cores. */
  workers?: number;
  /** Modules that register extra experiment kinds (absolute paths). */
  modules?: string[];
  onDone(task: TaskMessage, metrics: Metrics, ms: number): void;
  onFailed(task: TaskMessage, error: string, ms: number): void;
  /** Polled before each dispatch: return true to stop handing out tasks (in-flight ones finish). */
  shouldStop?(): boolean;
}

export function defaultWorkerCount(): number {
  return Math.max(1, typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length);
}

function bootstrapSource(): string {
  const tsxApi = require.resolve("tsx/cjs/api");
  const entry = path.join(__dirname, "worker.ts");
  return `require(${JSON.stringify(tsxApi)}).register();\nrequire(${JSON.stringify(entry)});\n`;
}

/** Run all tasks; resolves when every task has reported done or failed (or after a stop, when in-flight ones have). */
export async function runPool(tasks: TaskMessage[], opts: PoolOptions): Promise<void> {
  const workers = opts.workers ?? defaultWorkerCount();
  if (!Number.isInteger(workers) || workers < 0)
    throw new Error(`workers must be a non-negative integer, got ${workers}`);
  if (workers === 0) return runInThisThread(tasks, opts);

  const queue = tasks.slice();
  const n = Math.min(workers, queue.length);
  if (n === 0) return;
  const source = bootstrapSource();

  await new Promise<void>((resolve, reject) => {
    let live = 0;
    let settled = false;
    const finish = (err?: Error): void => {
      if (settled) return;
      if (err) {
        settled = true;
        reject(err);
      } else if (live === 0) {
        settled = true;
        resolve();
      }
    };

    const start = (): void => {
      live++;
      const worker = new Worker(source, {
        eval: true,
        execArgv: [],
        workerData: { modules: opts.modules ?? [], kindModules: declaredKindModules() },
        stderr: false,
        stdout: false,
      });
      let current: TaskMessage | undefined;
      let started = 0;
      let everReady = false;
      const next = (): void => {
        current = opts.shouldStop?.() ? undefined : queue.shift();
        if (current === undefined) {
          void worker.terminate();
          return;
        }
        started = performance.now();
        worker.postMessage(current);
      };
      worker.on("message", (msg: WorkerMessage) => {
        if (msg.type === "ready") {
          everReady = true;
          next();
          return;
        }
        const task = current;
        current = undefined;
        if (!task || task.id !== msg.id)
          return finish(new Error(`worker replied for run ${msg.id}, which it was not running`));
        try {
          if (msg.type === "done") opts.onDone(task, msg.metrics, msg.ms);
          else opts.onFailed(task, msg.error, msg.ms);
        } catch (e) {
          // The writer failed (disk full, …): stop everything rather than lose results silently.
          queue.length = 0;
          void worker.terminate();
          return finish(e as Error);
        }
        next();
      });
      // The thread died with a run in hand: fail that run (it is not stored, so a re-run retries it) and
      // start a replacement for the rest of the queue. Called once per worker, from "error" or "exit".
      let died = false;
      const onDeath = (why: string): void => {
        if (died) return;
        died = true;
        if (current) {
          const task = current;
          current = undefined;
          try {
            opts.onFailed(task, why, performance.now() - started);
          } catch (e) {
            queue.length = 0;
            return finish(e as Error);
          }
        }
        if (!everReady) {
          queue.length = 0; // a worker that cannot even start will not start next time either
          return finish(new Error(`a sweep worker failed to start: ${why}`));
        }
        if (queue.length > 0 && !opts.shouldStop?.()) start();
      };
      worker.on("error", (err) => {
        // e.g. out of memory, an uncaught error, or a module that failed to load.
        onDeath(`worker thread crashed: ${err.stack ?? err.message}`);
      });
      worker.on("exit", (code) => {
        // A worker is only terminated by next() once it has no run; exiting otherwise (process.exit in a
        // kind, or before it was ever ready) is a death.
        if (current)
          onDeath(
            `worker thread exited (exit code ${code}) while running this run (process.exit in the experiment kind?)`,
          );
        else if (!everReady) onDeath(`the worker thread exited (exit code ${code}) before it was ready`);
        live--;
        finish();
      });
    };
    for (let i = 0; i < n; i++) start();
  });
}

async function runInThisThread(tasks: TaskMessage[], opts: PoolOptions): Promise<void> {
  loadKindModules(opts.modules ?? []);
  for (const task of tasks) {
    if (opts.shouldStop?.()) return;
    const t0 = performance.now();
    let metrics: Metrics;
    try {
      const kind = getExperimentKind(task.kind);
      if (kind.usesBackend) await initBackend();
      metrics = jsonSafeMetrics(await kind.run(task.config, task.seed), kind.name);
    } catch (e) {
      opts.onFailed(task, e instanceof Error ? `${e.message}\n${e.stack ?? ""}` : String(e), performance.now() - t0);
      continue;
    }
    opts.onDone(task, metrics, performance.now() - t0);
    // Let timers (progress output, signal handlers) run between tasks.
    await new Promise((r) => setImmediate(r));
  }
}
