#!/usr/bin/python3
"""Execute one notebook with nbclient, store outputs, and export self-contained HTML.

Run with Debian's /usr/bin/python3 (which has nbclient and nbconvert); scripts/run-notebooks.ts calls
this once per notebook with JUPYTER_PATH pointing at the project's kernelspec.

    execute_notebook.py IN.ipynb OUT_DIR [--timeout SECONDS]

Exit status 0 on success. When a cell fails, prints the cell number, its source and every error text
the cell produced (the kernel's `error` output, with .ts file and line, plus anything on stderr), still
writes the partly executed notebook, and exits 1.

While it runs it shows per-cell progress on stderr: a line as each code cell starts (its first source
line), its time when it took over 2 s, and the text of the library's progress displays (training steps,
sweeps, Figure-2 stages; src/progress.ts) at most every 5 s each, so a long cell is not silent.
"""
import argparse
import os
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError


def error_text(cell):
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            parts.append(out.get("text", ""))
        elif out.get("output_type") == "error":
            parts.append("%s: %s\n%s" % (out.get("ename", ""), out.get("evalue", ""), "\n".join(out.get("traceback", []))))
    return "".join(parts).strip()


def tidy_streams(nb):
    """Store stream output as a terminal shows it, as JupyterLab does live.

    Progress lines arrive as many small stream messages that rewrite one line with \r; stored as they came,
    the notebook and its HTML export would show every intermediate state. Consecutive outputs of the same
    stream are merged and, on each line, only the text after the last \r is kept (a trailing \r, as in
    \r\n, is not a rewrite). Nothing else changes: other outputs keep their order.
    """
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        merged = []
        for out in cell.get("outputs", []):
            prev = merged[-1] if merged else None
            if out.output_type == "stream" and prev is not None and prev.output_type == "stream" and prev.name == out.name:
                prev.text += out.text
            else:
                merged.append(out)
        for out in merged:
            if out.output_type == "stream" and "\r" in out.text:
                out.text = "\n".join(line.rstrip("\r").rsplit("\r", 1)[-1] for line in out.text.split("\n"))
        cell.outputs = merged


HERE = os.path.dirname(os.path.abspath(__file__))
MATHJAX = os.path.join(HERE, "..", "node_modules", "mathjax", "es5", "tex-svg.js")
PLOTLY_DIR = os.path.join(HERE, "..", "node_modules", "plotly.js-dist")


def plotly_js():
    """plotly.js for the export's <head>: the minified copy src/display.ts caches, else the package's own."""
    import json

    with open(os.path.join(PLOTLY_DIR, "package.json"), encoding="utf-8") as f:
        version = json.load(f)["version"]
    cached = os.path.join(PLOTLY_DIR, "..", ".cache", "prefopt", "plotly-%s.min.js" % version)
    with open(cached if os.path.exists(cached) else os.path.join(PLOTLY_DIR, "plotly.js"), encoding="utf-8") as f:
        return f.read().replace("</script", "<\\/script")


def has_figures(nb):
    return any(
        "prefopt-plot" in str(out.get("data", {}).get("text/html", ""))
        for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
    )


def export_html(nb, path):
    """Self-contained HTML: the scripts/nbconvert/prefopt template with MathJax 3 and plotly.js inlined.

    The notebook itself does not carry plotly.js (src/display.ts loads it into the live page once per
    kernel), so the export puts it in the page's head, once, when the notebook has figures.
    """
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="prefopt", extra_template_basedirs=[os.path.join(HERE, "nbconvert")])
    with open(MATHJAX, encoding="utf-8") as f:
        mathjax_js = f.read().replace("</script", "<\\/script")
    resources = {"prefopt_mathjax_js": mathjax_js, "prefopt_plotly_js": plotly_js() if has_figures(nb) else ""}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    with open(path, "w", encoding="utf-8") as f:
        f.write(body)


PROGRESS_IDS = ("prefopt-progress-", "prefopt-sweep-", "prefopt-stage-")


class ProgressClient(NotebookClient):
    """NotebookClient that echoes per-cell progress to stderr (see the module docstring)."""

    def __init__(self, nb, **kw):
        super().__init__(nb, on_cell_start=self.cell_started, on_cell_executed=self.cell_done, **kw)
        self.code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        self.cell_t0 = time.time()
        self.shown = {}  # display_id -> time of its last echo

    def cell_started(self, cell, cell_index):
        self.cell_t0 = time.time()
        if cell.cell_type != "code":
            return
        n = self.code_cells.index(cell_index) + 1
        first = next((l for l in cell.source.splitlines() if l.strip()), "")
        sys.stderr.write("  cell %d/%d  %s\n" % (n, len(self.code_cells), first[:90]))
        sys.stderr.flush()

    def cell_done(self, cell, cell_index, execute_reply=None):
        took = time.time() - self.cell_t0
        if cell.cell_type == "code" and took > 2:
            sys.stderr.write("    … %.1f s\n" % took)
            sys.stderr.flush()

    def process_message(self, msg, cell, cell_index):
        content = msg.get("content", {})
        display_id = content.get("transient", {}).get("display_id") or ""
        if msg["msg_type"] in ("display_data", "update_display_data") and display_id.startswith(PROGRESS_IDS):
            lines = str(content.get("data", {}).get("text/plain", "")).strip().splitlines() or [""]
            stage = display_id.startswith("prefopt-stage-")  # a stage log: its header and newest stage, each time
            text = "%s: %s" % (lines[0], lines[-1]) if stage else lines[0]
            now = time.time()
            if stage or now - self.shown.get(display_id, 0) >= 5 or "done in" in text or "100%" in text:
                self.shown[display_id] = now
                sys.stderr.write("    %s\n" % text)
                sys.stderr.flush()
        return super().process_message(msg, cell, cell_index)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("notebook")
    ap.add_argument("out_dir")
    ap.add_argument("--timeout", type=int, default=1800, help="per-cell timeout in seconds")
    args = ap.parse_args()

    name = os.path.splitext(os.path.basename(args.notebook))[0]
    nb = nbformat.read(args.notebook, as_version=4)
    client = ProgressClient(
        nb,
        timeout=args.timeout,
        kernel_name="prefopt",
        allow_errors=False,
        record_timing=True,
        resources={"metadata": {"path": os.path.dirname(os.path.abspath(args.notebook))}},
    )
    failure = None
    t0 = time.time()
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as err:
        failure = err
    elapsed = time.time() - t0

    tidy_streams(nb)
    os.makedirs(args.out_dir, exist_ok=True)
    nb_out = os.path.join(args.out_dir, name + ".ipynb")
    nbformat.write(nb, nb_out)
    export_html(nb, os.path.join(args.out_dir, name + ".html"))

    if failure is not None:
        failed = None
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
                failed = (i, cell)
        if failed is None:
            # No error output (a kernel without the launcher's patches): the last cell that started executing.
            started = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.get("execution_count")]
            failed = started[-1] if started else None
        sys.stderr.write("\n=== %s: cell failed after %.1fs ===\n" % (args.notebook, elapsed))
        if failed is not None:
            i, cell = failed
            sys.stderr.write("--- cell %d source ---\n%s\n" % (i, cell.source))
            sys.stderr.write("--- cell %d error ---\n%s\n" % (i, error_text(cell) or str(failure)))
        else:
            sys.stderr.write("%s\n" % failure)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
