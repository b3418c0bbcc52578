// Patches to tslab 1.0.22 (and its zeromq), installed by launch.js before the kernel starts. Each
// one says which upstream behaviour it changes and why; all are plain wrappers around tslab's own code.
const fs = require("fs");
const path = require("path");
const vm = require("vm");
const { Worker } = require("worker_threads");
const { AsyncLocalStorage } = require("async_hooks");
const { useLibraryDeclarations } = require("./library-declarations");
const { installProtocol } = require("./protocol");
const { KernelHistory } = require("./history");
const { installAutoreload } = require("./autoreload");
const { expandShorthandProperties } = require("./shorthand");

// Same layout as src/interrupt.ts (which reads this object from globalThis).
const INTERRUPT_KEY = Symbol.for("prefopt.interrupt");
// Read by src/display.ts: the front-end client session (page) of the cell being run.
const KERNEL_KEY = Symbol.for("prefopt.kernel");
const REQUESTED = 0;
const BUSY = 2;
const WAKE = 3;
// How long a synchronous cell has to reach a throwIfInterrupted() before the hard stop. One step of
// the largest training loop here takes about a second on a busy 2-core machine (the first, warming up
// the wasm kernels, up to a few).
const GRACE_MS = Number(process.env.PREFOPT_INTERRUPT_GRACE_MS ?? 5000);

function installKernelPatches({ root, tslabDir }) {
  const state = { counters: new Int32Array(new SharedArrayBuffer(16)), scopes: new AsyncLocalStorage() };
  globalThis[INTERRUPT_KEY] = state;
  const fromTslab = (id) => require(require.resolve(id, { paths: [tslabDir] }));

  // 1. Load the library through tsx rather than tslab's own emit of src/*.ts: tsx registers source
  //    maps, so stack traces name src/losses/common.ts:56 instead of a src/losses/common.js that does
  //    not exist. tslab still type-checks cells against the .ts sources.
  require(require.resolve("tsx/cjs/api", { paths: [root] })).register();
  process.setSourceMapsEnabled(true);

  //    tslab's type checker watches every file of the program (src/ and the .d.ts files under
  //    node_modules); an edit under src/ while a cell compiles then fails the cell with
  //    "Unexpected pending rebuildTimer". Real files are not watched; autoreload.js instead checks src/
  //    before each cell and, after an edit, reloads the library and tells the checker which files changed.
  const ts = fromTslab("@tslab/typescript-for-tslab");
  const autoreload = installAutoreload({ root, ts, useDeclarations: process.env.PREFOPT_KERNEL_DECLARATIONS !== "0" });
  const kernelState = { clientSession: undefined };
  globalThis[KERNEL_KEY] = kernelState;
  const history = new KernelHistory(process.env.PREFOPT_KERNEL_HISTORY || path.join(root, ".cache", "kernel-history.jsonl"));

  // 2. Executor: one interrupt scope per cell, errors captured for an `error` message, tf's engine
  //    repaired after a hard stop.
  const executorModule = require(path.join(tslabDir, "dist", "executor.js"));
  const createExecutor = executorModule.createExecutor;
  let executor = null;
  let cellErrors = [];
  let cellValue = null;
  executorModule.createExecutor = (rootDir, convs, consoleLike) => {
    const errorConsole = {
      // tslab "logs" the value of a cell's last expression here (and only that): kept for the execute_result.
      log: (value) => {
        cellValue = { value };
      },
      // tslab prints a failing cell's error (or its type errors) here; we send them as one `error` message.
      error: (...args) => cellErrors.push(args),
    };
    executor = createExecutor(rootDir, withoutSideOutputs(convs, ts), errorConsole);
    const execute = executor.execute;
    executor.execute = (src) => {
      cellErrors = [];
      cellValue = null;
      try {
        autoreload.beforeCell();
      } catch (e) {
        console.error(`kernel: reloading src/ failed (${e.message}); the cell runs with the code loaded before`);
      }
      const scope = { baseline: Atomics.load(state.counters, REQUESTED) };
      return state.scopes.run(scope, () => execute(src));
    };
    return executor;
  };

  // 3. vm: tslab runs a cell's synchronous part under breakOnSigint. Wake the watcher so that it
  //    re-registers after this script's watchdog (innermost wins), and mark the main thread busy.
  const runInThisContext = vm.runInThisContext;
  let hardStopped = false;
  vm.runInThisContext = function (code, options) {
    if (!options || !options.breakOnSigint) return runInThisContext.apply(this, arguments);
    Atomics.store(state.counters, BUSY, 1);
    Atomics.add(state.counters, WAKE, 1);
    Atomics.notify(state.counters, WAKE);
    try {
      return runInThisContext.apply(this, arguments);
    } catch (e) {
      if (e && /interrupted by `SIGINT`/.test(String(e.message))) hardStopped = true;
      throw e;
    } finally {
      Atomics.store(state.counters, BUSY, 0);
      if (hardStopped) {
        hardStopped = false;
        repairTfEngine();
      }
    }
  };

  // 4. Failing cells: tslab replies status "error" but sends only stderr text. This is tslab's
  //    ZmqServer.handleExecute plus an `error` message (and ename/evalue/traceback in the reply).
  const jupyter = require(path.join(tslabDir, "dist", "jupyter.js"));
  jupyter.ZmqServer.prototype.handleExecute = async function (sock, msg) {
    const publish = (type, content) => {
      const m = msg.createReply();
      m.header.msg_type = type;
      m.content = content;
      m.signAndSend(this.connInfo.key, this.iopub);
    };
    const writeStream = (name, text) => publish("stream", { name, text });
    const writeDisplayData = (data, update) => publish(update ? "update_display_data" : "display_data", data);
    const req = msg.content;
    req.__prefoptSession = msg.header.session;
    const content = await this.handler.handleExecute(req, writeStream, writeDisplayData);
    if (content.status === "error") {
      const err = describeCellError(cellErrors, root);
      Object.assign(content, err);
      publish("error", err);
    }
    if (content.status === "abort") content.status = "aborted";
    // tslab leaves the count out when the failure was not the cell's own (an "unexpected error").
    if (content.status === "error" && typeof content.execution_count !== "number") content.execution_count = this.handler.execCount;
    if (content.status === "ok") {
      if (req.__prefoptResult && !req.silent)
        publish("execute_result", { execution_count: content.execution_count, data: req.__prefoptResult, metadata: {} });
      content.user_expressions = {};
      content.payload = [];
    }
    if (content.status !== "aborted" && req.store_history !== false && !req.silent && typeof content.execution_count === "number") {
      const output = req.__prefoptResult ? String(req.__prefoptResult["text/plain"] ?? "") : null;
      history.record(content.execution_count, String(req.code), output);
    }
    const reply = msg.createReply();
    reply.header.msg_type = "execute_reply";
    reply.content = content;
    reply.signAndSend(this.connInfo.key, sock);
  };

  //    After a failing cell tslab aborts every request that arrives within 200 ms (status "abort"), so
  //    that "Run all" stops at the error. Honour a request's stop_on_error: false (nbclient's
  //    allow_errors, IPython's semantics): then the failure aborts nothing.
  const handleExecuteImpl = jupyter.JupyterHandlerImpl.prototype.handleExecuteImpl;
  jupyter.JupyterHandlerImpl.prototype.handleExecuteImpl = function (req, writeStream, writeDisplayData) {
    const queue = this.execQueue;
    if (!queue.__prefoptReset) {
      queue.__prefoptReset = queue.reset;
      queue.reset = (delay) => queue.__prefoptReset.call(queue, queue.__prefoptStopOnError === false ? undefined : delay);
    }
    queue.__prefoptStopOnError = req.stop_on_error;
    kernelState.clientSession = req.__prefoptSession;
    return handleExecuteImpl.call(this, req, writeStream, writeDisplayData).then((count) => {
      // Still this cell's turn (the next queued cell starts only after this resolves): its value's bundle.
      if (cellValue !== null) req.__prefoptResult = richBundleOf(cellValue.value, root);
      return count;
    });
  };

  //    Inspect (Shift-Tab, the contextual help): tslab answers "any", found, for a name that does not
  //    exist, and nothing inside a call's parentheses. Report unknown names as not found, and inside
  //    `f(a, |` inspect the callee `f`, as IPython does.
  const handleInspect = jupyter.JupyterHandlerImpl.prototype.handleInspect;
  jupyter.JupyterHandlerImpl.prototype.handleInspect = function (req) {
    const ask = (pos) => {
      const reply = handleInspect.call(this, { ...req, cursor_pos: pos });
      const text = reply.found ? reply.data["text/plain"] : "";
      return text && text.trim() !== "any" ? reply : { status: "ok", found: false, data: {}, metadata: {} };
    };
    const reply = ask(req.cursor_pos);
    if (reply.found) return reply;
    const callee = calleeEnd(req.code, req.cursor_pos);
    return callee === null ? reply : ask(callee);
  };

  //    Replies tslab leaves invalid or unanswered (messaging spec 5.3): protocol.js.
  installProtocol({ jupyter, ts, history, plotlySource: () => require(path.join(root, "src", "display")).plotlyBundle() });

  // 5. zeromq: tslab never awaits send(). A send on a socket closed at shutdown then rejects with
  //    "Socket is closed" (EBADF), and a second send while one is in flight with EBUSY; both surfaced
  //    as stack traces. Serialise sends per socket and drop those made after close.
  serialiseZmqSends(fromTslab("zeromq"));
  //    After shutdown_request tslab closes its sockets and waits for the event loop to drain; exit once
  //    the shutdown reply is out, so nothing runs (or prints) against closed sockets.
  const close = jupyter.ZmqServer.prototype.close;
  jupyter.ZmqServer.prototype.close = function () {
    const pending = [this.shell, this.control, this.iopub].map((s) => s && s.__prefoptLast).filter(Boolean);
    Promise.all(pending).finally(() => {
      close.call(this);
      setTimeout(() => process.exit(0), 100);
    });
  };

  return {
    afterStart() {
      // tslab's own SIGINT listener would, through vm's sigintHandlersWrap, reset SIGINT to the default
      // (exit) action while a watchdog is active; the watcher thread replaces it.
      process.removeAllListeners("SIGINT");
      const watcher = new Worker(path.join(__dirname, "sigint-watcher.js"), { workerData: { counters: state.counters, graceMs: GRACE_MS } });
      watcher.unref();
      watcher.on("message", (m) => {
        if (m.type === "interrupt" && executor) executor.interrupt();
      });
      watcher.on("error", (e) => console.error("kernel: the interrupt watcher failed:", e));
    },
  };
}

// The execute_result data of a cell's value: src/richOutput.ts (tables for DataFrames and tensors, plotly
// figures); plain util.inspect text if that module cannot load or fails.
// zeromq's Socket.prototype.send is a non-writable property: a plain assignment is silently ignored (it
// was, until 2026-12-07, and a progress display's update racing a status message then killed the kernel with
// EBUSY "Socket is busy writing"). zeromq sends at once when the socket can take the message and throws EBUSY
// only while an earlier send still waits to be written. So: send at once (a cell that computes synchronously
// still streams its progress), and only when that throws EBUSY, or sends are already queued, queue behind the
// last send (order kept). Errors are reported, never thrown into tslab (which does not await send()).
function serialiseZmqSends(zmq) {
  const send = zmq.Socket.prototype.send;
  if (send.__prefoptSerialised) return;
  // Straight to the kernel's own stderr (the Jupyter server's log). Not console.error: during a cell tslab
  // sends stderr to the notebook over this very socket, so a failing send reported there sent another
  // message, which failed in turn: a microtask loop that starved the event loop and hung the kernel
  // (2026-12-07, notebooks 06 and 07 under load).
  const report = (sock) => (e) => {
    if (!sock.closed) fs.writeSync(2, `kernel: a message could not be sent: ${e.message}\n`);
  };
  // A queued message is sent once the socket is free. zeromq can still report EBUSY just after the previous
  // send settled (its write completes on a later turn of the event loop); retry on a timer, never as a
  // microtask, so the event loop turns and the write can finish. Nothing is dropped.
  const sendWhenFree = (sock, message) =>
    new Promise((resolve, reject) => {
      const attempt = () => {
        if (sock.closed) return resolve();
        try {
          send.call(sock, message).then(resolve, reject);
        } catch (e) {
          if (e.code === "EBUSY") setTimeout(attempt, 1);
          else reject(e);
        }
      };
      attempt();
    });
  const serialised = function (message) {
    if (this.closed) return Promise.resolve();
    if (!this.__prefoptQueued) {
      try {
        this.__prefoptLast = send.call(this, message).catch(report(this));
        return this.__prefoptLast;
      } catch (e) {
        if (e.code !== "EBUSY") {
          report(this)(e);
          return Promise.resolve();
        }
      }
    }
    this.__prefoptQueued = (this.__prefoptQueued ?? 0) + 1;
    // Counted as queued until it is out, so a send made meanwhile queues behind it (order kept).
    const run = () => sendWhenFree(this, message).finally(() => (this.__prefoptQueued -= 1));
    this.__prefoptLast = (this.__prefoptLast ?? Promise.resolve()).then(run).catch(report(this));
    return this.__prefoptLast;
  };
  serialised.__prefoptSerialised = true;
  Object.defineProperty(zmq.Socket.prototype, "send", { value: serialised, writable: false, configurable: true });
  if (zmq.Socket.prototype.send !== serialised) throw new Error("kernel: could not wrap zeromq's Socket.send");
}

function richBundleOf(value, root) {
  try {
    return require(path.join(root, "src", "richOutput")).richBundle(value);
  } catch (e) {
    return { "text/plain": require("util").inspect(value) + `\n(rich output failed: ${e && e.message})` };
  }
}

// tslab emits every local .ts module a cell imports and runs that emit (no source maps). Drop those
// side outputs so require() loads the files from disk, through tsx. The cell's shorthand properties
// are spelled out first (shorthand.js: tslab leaves `{ beta }` pointing at a variable that is not there).
function withoutSideOutputs(convs, ts) {
  const wrapped = new WeakMap();
  const wrap = (conv) => {
    if (!wrapped.has(conv)) {
      wrapped.set(conv, {
        ...conv,
        convert: (prevDecl, src) => {
          const out = conv.convert(prevDecl, expandShorthandProperties(ts, src));
          return out.sideOutputs ? { ...out, sideOutputs: undefined } : out;
        },
      });
    }
    return wrapped.get(conv);
  };
  return {
    get node() {
      return wrap(convs.node);
    },
    get browser() {
      return wrap(convs.browser);
    },
    close: () => convs.close(),
  };
}

// A hard stop (V8 termination) runs no `finally`: tf.tidy scopes and gradient tapes stay open, so every
// later tensor would be tracked by a dead scope. Close them (freeing what they tracked).
function repairTfEngine() {
  const engine = globalThis._tfengine;
  if (!engine || !engine.state) return;
  const s = engine.state;
  while (s.scopeStack.length > 0) {
    try {
      engine.endScope();
    } catch {
      s.scopeStack.pop();
    }
  }
  s.activeScope = null;
  s.gradientDepth = 0;
  s.kernelDepth = 0;
  s.activeTape = [];
}

// tslab's error console received either one runtime error (an Error or a thrown value) or format
// strings "%s%d:%d - %s" for type errors.
function describeCellError(calls, root) {
  const diagnostics = calls.filter((a) => typeof a[0] === "string" && a[0].startsWith("%s%d:%d"));
  if (diagnostics.length > 0) {
    const lines = diagnostics.map(([, file, line, col, text]) => `${file ? file : "cell "}${line}:${col} - ${flatten(text)}`);
    return { ename: "TypeScriptError", evalue: lines[0], traceback: lines };
  }
  const thrown = calls.length > 0 ? calls[calls.length - 1][0] : undefined;
  const message = thrown && typeof thrown === "object" ? String(thrown.message) : "";
  if (message === "Interrupted asynchronously") {
    const evalue = "the cell was interrupted while awaiting; library loops it started stop at their next step and free their tensors";
    return { ename: "InterruptedError", evalue, traceback: [`InterruptedError: ${evalue}`] };
  }
  if (/interrupted by `SIGINT`/.test(message)) {
    const evalue = `the cell was stopped hard: nothing in it reached a throwIfInterrupted() within ${GRACE_MS / 1000} s of the interrupt (or it was interrupted twice). Tensors it had allocated may stay allocated: check tf.memory().numTensors`;
    return { ename: "InterruptedError", evalue, traceback: [`InterruptedError: ${evalue}`] };
  }
  if (thrown instanceof Error || (thrown && typeof thrown === "object" && "stack" in thrown)) {
    const frames = String(thrown.stack || "")
      .split("\n")
      .filter((l) => /^\s+at /.test(l))
      .filter((l) => !/node:vm|node:internal|node:async_hooks|tslab[\\/]dist|kernel-patches\.js|sigintHandlersWrap/.test(l))
      .map((l) => l.replace(root + path.sep, ""));
    const name = thrown.name || "Error";
    const message = thrown.message ?? String(thrown);
    return { ename: name, evalue: message, traceback: [`${name}: ${message}`, ...frames] };
  }
  const text = calls.map((a) => a.map(String).join(" ")).join("\n") || "the cell failed";
  return { ename: "Error", evalue: text.split("\n")[0], traceback: text.split("\n") };
}

/** End of the callee name before the innermost unclosed "(" left of `pos` (strings not parsed), or null. */
function calleeEnd(code, pos) {
  let depth = 0;
  for (let i = Math.min(pos, code.length) - 1; i >= 0; i--) {
    const c = code[i];
    if (c === ")" || c === "]" || c === "}") depth++;
    else if (c === "[" || c === "{") depth = Math.max(0, depth - 1);
    else if (c === "(") {
      if (depth > 0) {
        depth--;
        continue;
      }
      let end = i;
      while (end > 0 && /\s/.test(code[end - 1])) end--;
      return end > 0 && /[\w$]/.test(code[end - 1]) ? end : null;
    }
  }
  return null;
}

function flatten(text) {
  // ts.DiagnosticMessageChain when tslab passes one through.
  if (typeof text === "string") return text;
  let out = text.messageText;
  for (const next of text.next ?? []) out += " " + flatten(next);
  return out;
}

module.exports = { installKernelPatches, serialiseZmqSends };
