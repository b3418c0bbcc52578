// Starts the project's tslab kernel with the project root as working directory, whatever folder the
// notebook sits in: tslab only compiles local .ts files under its working directory, so this is what
// lets a notebook in notebooks/ write `import * as pf from "./src/index"`.
// Jupyter finds this kernelspec through JUPYTER_PATH=<project>/jupyter (see the README, "Opening the
// notebooks interactively"; scripts/run-notebooks.ts sets it for headless runs).
//
// On top of tslab 1.0.22 (kernel-patches.js):
//   - interrupts stop library loops cooperatively, so they free their tensors (sigint-watcher.js);
//   - the library is loaded through tsx, so stack traces name src/*.ts files and lines (source maps);
//   - a failing cell sends a Jupyter `error` message (runtime errors and type errors);
//   - shutdown and heartbeat races in tslab's zeromq use no longer print stack traces.
const path = require("path");
const root = path.resolve(__dirname, "..", "..", "..");
const connectionFile = process.argv[2];
if (!connectionFile) {
  console.error("usage: node launch.js <connection-file>");
  process.exit(2);
}
process.chdir(root);
const { installKernelPatches } = require("./kernel-patches");
const tslabDir = path.join(root, "node_modules", "tslab");
const patches = installKernelPatches({ root, tslabDir });
const { startKernel } = require(path.join(tslabDir, "dist", "main.js"));
startKernel({ configPath: connectionFile, enableFindLocal: false });
patches.afterStart();
