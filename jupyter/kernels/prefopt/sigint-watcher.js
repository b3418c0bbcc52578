// Worker thread that turns the kernel's SIGINT (Jupyter's "interrupt") into a counter the library's
// loops poll with throwIfInterrupted() (src/interrupt.ts), escalating to tslab's hard stop only when no
// loop honours it.
//
// Node delivers SIGINT to the innermost `vm` script run with `breakOnSigint` (its SigintWatchdog list is
// a stack), terminating that script. This thread therefore sits in such a script (blocked in
// Atomics.wait, no CPU) and re-enters it right after each cell's own breakOnSigint script starts, so it
// is innermost: a SIGINT terminates *this* wait, not the cell. It then counts the interrupt and
// tells the main thread (for tslab's async "Interrupted asynchronously"). While a cell runs
// synchronously it stays out of the stack for GRACE_MS, so a second SIGINT reaches the cell's own
// watchdog (tslab's hard stop); if no loop honoured the interrupt by then it raises that SIGINT itself.
const { workerData, parentPort } = require("worker_threads");
const vm = require("vm");

const counters = workerData.counters; // Int32Array on a SharedArrayBuffer: [requested, honoured, busy, wake]
const REQUESTED = 0;
const HONOURED = 1;
const BUSY = 2;
const WAKE = 3;
const GRACE_MS = workerData.graceMs;
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms) => Atomics.wait(sleeper, 0, 0, ms);

globalThis.__watch = { counters, WAKE };
const waitScript = new vm.Script("Atomics.wait(__watch.counters, __watch.WAKE, __watch.seen)");

parentPort.postMessage({ type: "ready" });
for (;;) {
  globalThis.__watch.seen = Atomics.load(counters, WAKE);
  let signalled = false;
  try {
    waitScript.runInThisContext({ breakOnSigint: true });
  } catch {
    signalled = true;
  }
  if (!signalled) {
    // The main thread woke us: a cell's synchronous part started or ended. When it started, let its
    // watchdog register first, so that ours, registered after it, is innermost.
    if (Atomics.load(counters, BUSY)) sleep(20);
    continue;
  }
  const n = Atomics.add(counters, REQUESTED, 1) + 1;
  parentPort.postMessage({ type: "interrupt" });
  if (!Atomics.load(counters, BUSY)) continue;
  const deadline = Date.now() + GRACE_MS;
  while (Atomics.load(counters, BUSY) && Atomics.load(counters, HONOURED) < n && Date.now() < deadline) sleep(25);
  if (Atomics.load(counters, BUSY) && Atomics.load(counters, HONOURED) < n) {
    parentPort.postMessage({ type: "hard-stop", graceMs: GRACE_MS });
    process.kill(process.pid, "SIGINT"); // reaches the cell's watchdog: the terminated cell reports as interrupted
  }
  // Re-enter only once the cell's synchronous part is over (or a loop honoured the interrupt), so a
  // pending SIGINT cannot land on us instead of the cell.
  while (Atomics.load(counters, BUSY) && Atomics.load(counters, HONOURED) < n) sleep(25);
}
