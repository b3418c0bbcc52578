// Worker-thread entry: receives {id, kind, config, seed} tasks, runs the experiment kind, posts metrics
// back. Started by pool.ts through a bootstrap that registers tsx, so it runs as TypeScript anywhere
// (CLI, tests, the tslab kernel). Each worker initialises its own tfjs backend before its first run.
import { parentPort, workerData } from "worker_threads";
import { initBackend } from "../backend";
import { declareKindModules, getExperimentKind, jsonSafeMetrics, loadKindModules } from "./kinds";
import type { TaskMessage, WorkerMessage } from "./pool";

const port = parentPort;
if (!port) throw new Error("src/sweep/worker.ts must run in a worker thread");
const data = workerData as { modules: string[]; kindModules: Record<string, string> };
declareKindModules(data.kindModules);
loadKindModules(data.modules);

let backendReady: Promise<unknown> | undefined;

port.on("message", (task: TaskMessage) => {
  void (async () => {
    const t0 = performance.now();
    try {
      const kind = getExperimentKind(task.kind);
      if (kind.usesBackend) await (backendReady ??= initBackend());
      const metrics = jsonSafeMetrics(await kind.run(task.config, task.seed), kind.name);
      const reply: WorkerMessage = { type: "done", id: task.id, metrics, ms: performance.now() - t0 };
      port.postMessage(reply);
    } catch (e) {
      const err = e instanceof Error ? `${e.message}\n${e.stack ?? ""}` : String(e);
      const reply: WorkerMessage = { type: "failed", id: task.id, error: err, ms: performance.now() - t0 };
      port.postMessage(reply);
    }
  })();
});
port.postMessage({ type: "ready" } satisfies WorkerMessage);
