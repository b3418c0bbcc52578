#!/usr/bin/python3
"""Drive the prefopt kernel through jupyter_client and validate every message it sends against JSON schemas
written from the Jupyter messaging spec 5.3 (https://jupyter-client.readthedocs.io/en/latest/messaging.html).

    JUPYTER_PATH=$PWD/jupyter /usr/bin/python3 scripts/check-protocol.py

Checks, besides "every message valid": a cell's value is an execute_result with its execution_count
(text/plain; text/html for a DataFrame and for a tensor, elided when large; the plotly mime type for a
figure); progress displayed and updated in place while a cell runs; kernel_info_reply; is_complete (incomplete for an open block or bracket); complete (cursor_start /
cursor_end of a member); inspect; comm_info; history (tail, range, search) surviving a kernel restart;
a "prefopt.plotly" comm answered with plotly.js; an edit under src/ seen by the next cell of the same
kernel (autoreload); shutdown. Prints one line per check and a message-by-message tally; exit 1 if any
check failed. Needs Debian's python3-jsonschema and python3-jupyter-client (scripts/setup.sh).
"""
import collections
import os
import sys
import tempfile
import time

import jsonschema
from jupyter_client.manager import KernelManager

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
failures = []
tally = collections.Counter()
invalid = []


def check(ok, what, detail=""):
    print(("ok    " if ok else "FAIL  ") + what + ("" if ok else "\n      " + str(detail).replace("\n", "\n      ")))
    if not ok:
        failures.append(what)


# --- Schemas (messaging spec 5.3), one per message type this kernel sends --------------------------------
S, I, O, A, B = {"type": "string"}, {"type": "integer"}, {"type": "object"}, {"type": "array"}, {"type": "boolean"}


def obj(required, props=None, **extra):
    p = {k: v for k, v in (props or {}).items()}
    for r in required:
        p.setdefault(r, {})
    return {"type": "object", "required": list(required), "properties": p, **extra}


MIME = {"type": "object", "required": ["text/plain"], "additionalProperties": True}
HEADER = obj(["msg_id", "session", "username", "date", "msg_type", "version"],
             {"msg_id": S, "session": S, "username": S, "msg_type": S, "version": {"enum": ["5.3"]}})
ERROR_REPLY = obj(["status", "ename", "evalue", "traceback"],
                  {"status": {"const": "error"}, "ename": S, "evalue": S, "traceback": {"type": "array", "items": S}})
def reply(ok_schema):
    return {"oneOf": [ok_schema, ERROR_REPLY]}

CONTENT = {
    "status": obj(["execution_state"], {"execution_state": {"enum": ["busy", "idle", "starting"]}}),
    "stream": obj(["name", "text"], {"name": {"enum": ["stdout", "stderr"]}, "text": S}),
    "display_data": obj(["data", "metadata"], {"data": {"type": "object"}, "metadata": O, "transient": O}),
    "update_display_data": obj(["data", "metadata", "transient"], {
        "data": O, "metadata": O, "transient": obj(["display_id"], {"display_id": S})}),
    "execute_input": obj(["code", "execution_count"], {"code": S, "execution_count": I}),
    "execute_result": obj(["execution_count", "data", "metadata"], {"execution_count": I, "data": MIME, "metadata": O}),
    "error": obj(["ename", "evalue", "traceback"], {"ename": S, "evalue": S, "traceback": {"type": "array", "items": S}}),
    "execute_reply": {"oneOf": [
        obj(["status", "execution_count", "user_expressions"], {"status": {"const": "ok"}, "execution_count": I,
                                                                "user_expressions": O, "payload": A}),
        {"allOf": [ERROR_REPLY, obj(["execution_count"], {"execution_count": I})]},
        obj(["status"], {"status": {"const": "aborted"}}),
    ]},
    "kernel_info_reply": obj(["status", "protocol_version", "implementation", "implementation_version",
                              "language_info", "banner"], {
        "status": {"const": "ok"}, "protocol_version": S, "implementation": S, "implementation_version": S,
        "banner": S, "help_links": {"type": "array", "items": obj(["text", "url"], {"text": S, "url": S})},
        "language_info": obj(["name", "version", "mimetype", "file_extension"],
                             {"name": S, "version": S, "mimetype": S, "file_extension": S})}),
    "is_complete_reply": {"oneOf": [
        obj(["status"], {"status": {"enum": ["complete", "invalid", "unknown"]}}),
        obj(["status", "indent"], {"status": {"const": "incomplete"}, "indent": S}),
    ]},
    "complete_reply": reply(obj(["status", "matches", "cursor_start", "cursor_end", "metadata"], {
        "status": {"const": "ok"}, "matches": {"type": "array", "items": S}, "cursor_start": I, "cursor_end": I,
        "metadata": O})),
    "inspect_reply": reply(obj(["status", "found", "data", "metadata"], {
        "status": {"const": "ok"}, "found": B, "data": O, "metadata": O})),
    "history_reply": reply(obj(["status", "history"], {"status": {"const": "ok"}, "history": {"type": "array", "items": {
        "type": "array", "minItems": 3, "maxItems": 3, "prefixItems": [I, I, {"type": ["string", "array"]}]}}})),
    "comm_info_reply": reply(obj(["status", "comms"], {"status": {"const": "ok"}, "comms": {
        "type": "object", "additionalProperties": obj(["target_name"], {"target_name": S})}})),
    "comm_msg": obj(["comm_id", "data"], {"comm_id": S, "data": O}),
    "comm_close": obj(["comm_id", "data"], {"comm_id": S, "data": O}),
    "shutdown_reply": reply(obj(["status", "restart"], {"status": {"const": "ok"}, "restart": B})),
}
DRAFT = jsonschema.Draft202012Validator if hasattr(jsonschema, "Draft202012Validator") else jsonschema.Draft7Validator


def validate(msg, channel):
    t = msg["msg_type"]
    tally[(channel, t)] += 1
    problems = [e.message for e in DRAFT(HEADER).iter_errors(msg["header"])]
    if msg["header"].get("msg_type") != t:
        problems.append("header msg_type differs")
    if msg["parent_header"] == {} and t != "status":
        problems.append("no parent_header")
    schema = CONTENT.get(t)
    if schema is None:
        problems.append("no schema: a message type this check does not expect")
    else:
        problems += [e.message for e in DRAFT(schema).iter_errors(msg["content"])]
    if problems:
        invalid.append((channel, t, problems[:3]))


class Client:
    def __init__(self, km):
        self.km = km
        self.kc = km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=300)
        self.drain()

    def drain(self):
        while True:
            try:
                validate(self.kc.get_iopub_msg(timeout=0.5), "iopub")
            except Exception:
                return

    def shell_reply(self, msg_id, timeout=300):
        while True:
            r = self.kc.get_shell_msg(timeout=timeout)
            validate(r, "shell")
            if r["parent_header"].get("msg_id") == msg_id:
                return r

    def iopub_until_idle(self, msg_id, timeout=600):
        out, t0 = [], time.time()
        while time.time() - t0 < timeout:
            try:
                m = self.kc.get_iopub_msg(timeout=0.5)
            except Exception:
                continue
            validate(m, "iopub")
            m["arrived"] = time.time()
            if m["parent_header"].get("msg_id") != msg_id:
                continue
            out.append(m)
            if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                return out
        raise RuntimeError("no idle status")

    def run(self, code):
        mid = self.kc.execute(code)
        msgs = self.iopub_until_idle(mid)
        rep = self.shell_reply(mid)
        if rep["content"]["status"] == "error":
            time.sleep(0.3)  # tslab aborts requests that arrive within 200 ms of an error
        results = [m for m in msgs if m["msg_type"] == "execute_result"]
        text = "".join(m["content"]["text"] for m in msgs if m["msg_type"] == "stream")
        return rep["content"], (results[0]["content"] if results else None), text, msgs

    def request(self, msg_type, content):
        msg = self.kc.session.msg(msg_type, content)
        self.kc.shell_channel.send(msg)
        r = self.shell_reply(msg["header"]["msg_id"])
        self.iopub_until_idle(msg["header"]["msg_id"], timeout=60)
        return r


def main():
    history_file = tempfile.NamedTemporaryFile(prefix="prefopt-history-", suffix=".jsonl", delete=False).name
    env = dict(os.environ, PREFOPT_KERNEL_HISTORY=history_file)
    stderr_file = tempfile.TemporaryFile(mode="w+")
    km = KernelManager(kernel_name="prefopt")
    km.start_kernel(env=env, stderr=stderr_file, stdout=stderr_file)
    c = Client(km)
    probe = os.path.join(ROOT, "src", "autoreload-probe-%d.ts" % os.getpid())
    try:
        return checks(km, c, env, probe, history_file)
    finally:
        if os.path.exists(probe):
            os.remove(probe)
        os.remove(history_file)


def checks(km, c, env, probe, history_file):
    r = c.request("kernel_info_request", {})["content"]
    check(r.get("status") == "ok" and r["language_info"].get("file_extension") == ".ts",
          "kernel_info_reply has status ok and file_extension .ts", r)

    rep, res, _, _ = c.run("6 * 7")
    check(res is not None and res["data"]["text/plain"] == "42" and res["execution_count"] == rep["execution_count"],
          "6 * 7 is an execute_result (text/plain 42) with the cell's execution_count", (rep, res))
    _, res, text, _ = c.run('console.log("printed"); undefined')
    check(res is None and "printed" in text, "a cell ending in undefined has no execute_result; its log is a stream", (res, text))

    rep, res, _, _ = c.run('import * as tf from "@tensorflow/tfjs";\nimport * as dfd from "danfojs-node";\n'
                           'import * as pf from "./src/index";\nawait pf.initBackend();\n'
                           'new dfd.DataFrame([[1, "a"], [2, "b"]], { columns: ["x", "y"] })')
    html = (res or {}).get("data", {}).get("text/html", "")
    check("<table" in html and "<th" in html and ">y<" in html, "a DataFrame value has a text/html table", rep if not res else html[:300])
    _, res, _, _ = c.run('tf.tensor2d([[1, 2.5, 3], [4, 5, 6]])')
    html = (res or {}).get("data", {}).get("text/html", "")
    check("shape [2, 3]" in html and "float32" in html and ">2.5<" in html, "a tensor value has text/html with shape, dtype and values", html[:400])
    _, res, _, _ = c.run('tf.range(0, 10000).reshape([100, 100])')
    html = (res or {}).get("data", {}).get("text/html", "")
    check("…" in html and len(html) < 8000 and ">9999<" in html, "… elided when large (%d chars for 10,000 values)" % len(html), html[:300])
    _, res, _, msgs = c.run('({ data: [{ type: "scatter", x: [1, 2], y: [3, 4] }], layout: { title: { text: "t" } } })')
    data = (res or {}).get("data", {})
    check("application/vnd.plotly.v1+json" in data and "prefopt-plot" in data.get("text/html", ""),
          "a plotly figure value is application/vnd.plotly.v1+json (+ HTML)", list(data))

    # Progress: a 3 s synchronous loop (shown after 1 s) reporting each step; its display must reach the client while it runs.
    _, _, _, msgs = c.run('for (let s = 1; s <= 60; s++) { const t = Date.now(); while (Date.now() - t < 50) {}\n'
                          '  pf.reportProgress("busy loop", s, 60, "metric " + s); }')
    prog = [m for m in msgs if m["msg_type"] in ("display_data", "update_display_data")
            and "busy loop" in m["content"]["data"].get("text/plain", "")]
    ids = {m["content"].get("transient", {}).get("display_id") for m in prog}
    ahead = prog[-1]["arrived"] - prog[0]["arrived"] if prog else 0
    check(len(prog) >= 3 and prog[0]["msg_type"] == "display_data" and len(ids) == 1
          and all(m["msg_type"] == "update_display_data" for m in prog[1:])
          and "60/60" in prog[-1]["content"]["data"]["text/plain"] and ahead > 1.0,
          "progress: one display, then update_display_data in place while the cell runs "
          "(%d messages; the first arrived %.1f s before the last)" % (len(prog), ahead),
          [(m["msg_type"], m["content"]["data"].get("text/plain")) for m in prog])

    for code, want in [("if (x) {", "incomplete"), ("f(1,", "incomplete"), ("const a = [1, 2", "incomplete"), ("1 + 1", "complete")]:
        r = c.request("is_complete_request", {"code": code})["content"]
        check(r.get("status") == want, "is_complete %r → %s" % (code, want), r)
    r = c.request("complete_request", {"code": "Math.sq", "cursor_pos": 7})["content"]
    check(r.get("cursor_start") == 5 and r.get("cursor_end") == 7 and "sqrt" in r.get("matches", []),
          "complete Math.sq → sqrt, cursor_start 5, cursor_end 7", r)
    r = c.request("inspect_request", {"code": "Math.sqrt", "cursor_pos": 9, "detail_level": 0})["content"]
    check(r.get("found") is True and "sqrt" in r.get("data", {}).get("text/plain", ""), "inspect Math.sqrt is found", r)
    r = c.request("comm_info_request", {})
    check(r["msg_type"] == "comm_info_reply" and r["content"].get("status") == "ok", "comm_info_request → comm_info_reply", r["msg_type"])

    msg = c.kc.session.msg("comm_open", {"comm_id": "plotly-1", "target_name": "prefopt.plotly", "data": {}})
    c.kc.shell_channel.send(msg)
    got = c.iopub_until_idle(msg["header"]["msg_id"], timeout=120)
    sources = [m["content"]["data"].get("source", "") for m in got if m["msg_type"] == "comm_msg"]
    closes = [m for m in got if m["msg_type"] == "comm_close"]
    check(len(sources) == 1 and len(sources[0]) > 1_000_000 and "Plotly" in sources[0] and closes,
          "comm prefopt.plotly answers with plotly.js and closes", [len(s) for s in sources])

    r = c.request("history_request", {"hist_access_type": "tail", "n": 2, "output": False, "raw": True})["content"]
    inputs = [h[2] for h in r.get("history", [])]
    check(len(inputs) == 2 and inputs[0].startswith("({ data:") and inputs[1].startswith("for (let s"), "history tail n=2 gives the last two inputs", r)
    r = c.request("history_request", {"hist_access_type": "range", "session": 0, "start": 1, "stop": 2, "output": True, "raw": True})["content"]
    check(r.get("history") and r["history"][0][1] == 1 and r["history"][0][2] == ["6 * 7", "42"],
          "history range session 0 lines [1, 2) with output", r)
    r = c.request("history_request", {"hist_access_type": "search", "pattern": "tf.*", "n": 10, "unique": True, "output": False, "raw": True})["content"]
    check([h[2][:6] for h in r.get("history", [])] == ["tf.ten", "tf.ran"], "history search 'tf.*'", r)

    # Autoreload: a new file, then an edit, both seen by the next cell of the same kernel.
    with open(probe, "w") as f:
        f.write("// autoreload probe (scripts/check-protocol.py writes and removes it)\nexport const probe = (): number => 1;\n")
    name = os.path.basename(probe)[:-3]
    rep, res, text, _ = c.run('import * as probeMod from "./src/%s";\nprobeMod.probe()' % name)
    check(res is not None and res["data"]["text/plain"] == "1", "autoreload: a new src/ file is importable", (rep, text))
    time.sleep(0.05)
    with open(probe, "w") as f:
        f.write("// autoreload probe (scripts/check-protocol.py writes and removes it)\n"
                "export const probe = (): number => 2;\nexport const added = (): string => \"new\";\n")
    t0 = time.time()
    rep, res, text, _ = c.run("[probeMod.probe(), probeMod.added()]")
    took = time.time() - t0
    check(res is not None and "2" in res["data"]["text/plain"] and "new" in res["data"]["text/plain"] and "src/ changed" in text,
          "autoreload: after an edit the next cell runs the new code and type-checks the new export (%.1f s)" % took, (rep, res, text))

    # Restart: history persists, in a new session.
    c.kc.stop_channels()
    km.restart_kernel(now=False, env=env)
    c = Client(km)
    r = c.request("history_request", {"hist_access_type": "range", "session": -1, "start": 1, "stop": 2, "output": False, "raw": True})["content"]
    check(r.get("history") and r["history"][0][2] == "6 * 7", "history survives a kernel restart (range session -1)", r)
    rep, _, _, _ = c.run("1")
    r = c.request("history_request", {"hist_access_type": "tail", "n": 1, "output": False, "raw": True})["content"]
    check(r.get("history") and r["history"][0][0] == 2 and r["history"][0][1] == 1, "… and the new kernel is session 2", r)

    r = c.request("shutdown_request", {"restart": False})
    check(r["content"].get("status") == "ok", "shutdown_reply has status ok", r["content"])
    c.kc.stop_channels()
    time.sleep(0.5)

    print("messages received, by channel and type (all validated against the spec's schemas):")
    for (channel, t), n in sorted(tally.items()):
        print("  %-6s %-22s %4d" % (channel, t, n))
    check(not invalid, "every message is valid (%d messages)" % sum(tally.values()),
          "\n".join("%s %s: %s" % (ch, t, "; ".join(p)) for ch, t, p in invalid[:20]))
    print("%d check(s) failed" % len(failures) if failures else "all protocol checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    os.environ.setdefault("JUPYTER_PATH", os.path.join(ROOT, "jupyter"))
    code = main()
    sys.stdout.flush()
    os._exit(code)
