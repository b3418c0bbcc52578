#!/usr/bin/python3
"""Drive the prefopt kernel through a real Jupyter client and check what a user sees.

    JUPYTER_PATH=$PWD/jupyter /usr/bin/python3 scripts/check-kernel.py

Checks: a failing cell sends a Jupyter `error` message whose traceback names the .ts file and line; a
type error arrives as an `error` message; an interrupt stops SFT training at its next step with an
InterruptedError and frees its tensors; an interrupted cell that awaits stops its loop; inspect finds
nothing for an unknown name and the callee inside a call's parentheses; late output after shutdown and
the shutdown itself print no stack trace on the kernel's stderr. Prints one line per check; exit 1 if
any failed. test/foundation.test.ts runs it.
"""
import os
import re
import sys
import tempfile
import time

from jupyter_client.manager import KernelManager

failures = []


def check(ok, what, detail=""):
    print(("ok    " if ok else "FAIL  ") + what + ("" if ok else "\n      " + detail.replace("\n", "\n      ")))
    if not ok:
        failures.append(what)


def main():
    stderr_file = tempfile.TemporaryFile(mode="w+")
    km = KernelManager(kernel_name="prefopt")
    km.start_kernel(stderr=stderr_file, stdout=stderr_file)
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=300)

    def run(code, interrupt_after=None, timeout=600):
        msg_id = kc.execute(code)
        t0 = time.time()
        outputs, errors = [], []
        sent = None
        while True:
            if interrupt_after is not None and sent is None and time.time() - t0 > interrupt_after:
                km.interrupt_kernel()
                sent = time.time()
            if time.time() - t0 > timeout:
                raise RuntimeError("cell timed out: " + code[:60])
            try:
                m = kc.get_iopub_msg(timeout=0.2)
            except Exception:
                continue
            if m["parent_header"].get("msg_id") != msg_id:
                continue
            t = m["msg_type"]
            if t == "stream":
                outputs.append(m["content"]["text"])
            elif t == "error":
                errors.append(m["content"])
            elif t == "execute_result":
                outputs.append(m["content"]["data"].get("text/plain", ""))
            elif t == "status" and m["content"]["execution_state"] == "idle":
                break
        while True:
            reply = kc.get_shell_msg(timeout=60)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        if reply["content"]["status"] == "error":
            time.sleep(0.3)  # tslab aborts requests that arrive within 200 ms of an error
        return {"status": reply["content"]["status"], "out": "".join(outputs), "errors": errors,
                "after_interrupt": (time.time() - sent) if sent else None}

    def inspect(code, pos):
        mid = kc.inspect(code, pos)
        while True:
            r = kc.get_shell_msg(timeout=60)
            if r["parent_header"].get("msg_id") == mid:
                return r["content"]

    r = run('import * as tf from "@tensorflow/tfjs";\nimport { initBackend } from "./src/backend";\n'
            'import { dpoLoss } from "./src/losses/index";\nimport * as lm from "./src/lm/index";\n'
            'import { throwIfInterrupted } from "./src/interrupt";\nawait initBackend();\n1')
    check(r["status"] == "ok", "the library loads in the kernel", str(r))

    r = run('dpoLoss(tf.tensor1d([1]), tf.tensor1d([1, 2]), tf.tensor1d([1]), tf.tensor1d([1]), { beta: 0.1 });')
    err = r["errors"][0] if r["errors"] else {}
    tb = "\n".join(err.get("traceback", []))
    check(r["status"] == "error" and err.get("ename") == "Error", "a runtime error is a Jupyter error message", str(r))
    check(re.search(r"src/losses/dpo\.ts:\d+:\d+", tb) is not None, "its traceback names the .ts file and line", tb)

    r = run('const typed: number = "text";')
    err = r["errors"][0] if r["errors"] else {}
    check(err.get("ename") == "TypeScriptError" and "not assignable" in err.get("evalue", ""), "a type error is a Jupyter error message", str(r))

    r = run('const cfg = { contextLength: 32, dModel: 64, nHeads: 2, nLayers: 2 };\n'
            'const rows = Array.from({ length: 200 }, (_, i) => Array.from({ length: 20 }, (_, j) => 4 + ((i * 7 + j * 3) % 90)));\n'
            'const model = new lm.Transformer({ ...cfg, vocabSize: 100 }, 0);\n'
            'lm.trainSft(model, rows, rows.slice(0, 20), { steps: 2, batchSize: 16, verbose: false });\n'
            'const tensorsBefore = tf.memory().numTensors;\ntensorsBefore')
    check(r["status"] == "ok", "a small model trains", str(r))
    r = run('lm.trainSft(model, rows, rows.slice(0, 20), { steps: 100000, batchSize: 16, verbose: false });', interrupt_after=3.0)
    err = r["errors"][0] if r["errors"] else {}
    check(err.get("ename") == "InterruptedError" and "src/lm/sft.ts" in "\n".join(err.get("traceback", [])),
          "an interrupt stops SFT at its next step (InterruptedError from src/lm/sft.ts)", str(r))
    check(r["after_interrupt"] is not None and r["after_interrupt"] < 4.0, "… promptly (%.2f s after the interrupt)" % (r["after_interrupt"] or -1), str(r))
    r = run('[tensorsBefore, tf.memory().numTensors]')
    nums = [int(x) for x in re.findall(r"\d+", r["out"])]
    check(len(nums) == 2 and nums[0] == nums[1], "… and frees its tensors (numTensors %s)" % nums, str(r))

    run('let steps = 0;')
    r = run('for (let i = 0; i < 1000; i++) { await new Promise((res) => setTimeout(res, 10)); throwIfInterrupted(); steps++; }', interrupt_after=2.0)
    check(r["status"] == "error", "an awaiting cell is interrupted", str(r))
    r = run('const s1 = steps; await new Promise((res) => setTimeout(res, 500)); [s1, steps]')
    nums = [int(x) for x in re.findall(r"\d+", r["out"])]
    check(len(nums) == 2 and nums[0] == nums[1], "… and its loop stopped (steps %s)" % nums, str(r))

    c = inspect("notDefinedAnywhere", len("notDefinedAnywhere"))
    check(c.get("found") is False, "inspect: an unknown name is not found", str(c))
    code = "dpoLoss(a, "
    c = inspect(code, len(code))
    check(c.get("found") is True and "dpoLoss" in c.get("data", {}).get("text/plain", ""), "inspect: inside a call's parentheses shows the callee", str(c))

    run('setTimeout(() => console.log("late output"), 300);')
    kc.stop_channels()
    km.shutdown_kernel(now=False)
    time.sleep(1.0)
    stderr_file.seek(0)
    log = stderr_file.read()
    traces = [line for line in log.splitlines() if re.search(r"^\s+at |Error:|UnhandledPromiseRejection|EBADF|EBUSY", line)]
    check(not traces, "no stack traces on the kernel's stderr, shutdown included", "\n".join(traces[:20]))

    print("%d check(s) failed" % len(failures) if failures else "all kernel checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    os.environ.setdefault("JUPYTER_PATH", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "jupyter"))
    code = main()
    sys.stdout.flush()
    os._exit(code)  # skip interpreter teardown, where jupyter_client's __del__ methods print noise
