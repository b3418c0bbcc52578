// Opens HTML files (notebook exports, sweep reports) in headless Chromium and checks that every plotly
// figure rendered (one `svg.main-svg` per figure container) and that the page logged no errors.
//
//   node --import tsx scripts/browser-check.ts output/notebooks/*.html
//
// Uses Debian's chromium through playwright-core (never a downloaded browser build).
import * as path from "path";
import { chromium, type Browser } from "playwright-core";

export interface PageCheck {
  file: string;
  figures: number;
  rendered: number;
  /** Typeset formulas (MathJax containers). */
  math: number;
  errors: string[];
}

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-quic",
  "--no-first-run",
  "--disable-component-update",
  "--disable-sync",
];

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args: CHROMIUM_ARGS });
}

/** Load one file and count figure containers vs rendered plots; collects console errors and page errors. */
export async function checkHtmlFile(browser: Browser, file: string, timeoutMs = 60_000): Promise<PageCheck> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("requestfailed", (r) => errors.push(`request failed: ${r.url()}`));
  try {
    await page.goto("file://" + path.resolve(file), { waitUntil: "load", timeout: timeoutMs });
    const figures = await page.locator(".prefopt-plot").count();
    // plotly draws asynchronously; wait until each container has its svg (or time out and report).
    await page
      .waitForFunction(
        `Array.from(document.querySelectorAll(".prefopt-plot")).every((d) => d.querySelector("svg.main-svg"))`,
        undefined,
        {
          timeout: timeoutMs,
        },
      )
      .catch(() => undefined);
    const rendered = await page.locator(".prefopt-plot:has(svg.main-svg)").count();
    // A title the figure asks for but plotly does not draw (e.g. plotly ≥ 3 ignores `title: "string"`).
    const missingTitles =
      (await page.evaluate(`Array.from(document.querySelectorAll(".prefopt-plot")).flatMap((d, i) => {
      const want = (t) => (typeof t === "string" ? t : t && t.text) || "";
      const l = d.layout || {};
      const drawn = (sel) => Array.from(d.querySelectorAll(sel)).map((e) => e.textContent).join(" ").trim();
      const out = [];
      if (want(l.title) && !drawn(".gtitle")) out.push("figure " + (i + 1) + ": title " + JSON.stringify(want(l.title)) + " not drawn");
      if (want((l.xaxis || {}).title) && !drawn(".xtitle")) out.push("figure " + (i + 1) + ": x-axis title not drawn");
      if (want((l.yaxis || {}).title) && !drawn(".ytitle")) out.push("figure " + (i + 1) + ": y-axis title not drawn");
      return out;
    })`)) as string[];
    for (const m of missingTitles) errors.push(m);
    // MathJax typesets after load; a TeX error shows as <mjx-merror>.
    // (browser-side code is passed as strings: this file is type-checked without the DOM lib)
    await page.evaluate(
      `(async () => { if (window.MathJax && window.MathJax.startup) await window.MathJax.startup.promise; })()`,
    );
    const math = await page.locator("mjx-container").count();
    const mathErrors = await page.locator("mjx-merror").allTextContents();
    for (const m of mathErrors) errors.push(`TeX error: ${m}`);
    return { file, figures, rendered, math, errors };
  } finally {
    await page.close();
  }
}

async function main(files: string[]): Promise<void> {
  if (files.length === 0) {
    console.error("usage: browser-check.ts FILE.html ...");
    process.exit(2);
  }
  const browser = await launchChromium();
  let bad = 0;
  try {
    for (const f of files) {
      const r = await checkHtmlFile(browser, f);
      const ok = r.rendered === r.figures && r.errors.length === 0;
      if (!ok) bad++;
      console.log(
        `${ok ? "✓" : "✗"} ${path.basename(f)}: ${r.rendered}/${r.figures} figures rendered, ${r.math} formulas typeset, ${r.errors.length} page error(s)`,
      );
      for (const e of r.errors) console.log(`    ${e}`);
    }
  } finally {
    await browser.close();
  }
  if (bad) {
    console.error(`${bad} page(s) failed the browser check`);
    process.exit(1);
  }
}

if (require.main === module)
  main(process.argv.slice(2)).catch((e) => {
    console.error(e);
    process.exit(1);
  });
