// Starts the project's tslab kernel with the project root as working directory, whatever folder the
// notebook sits in: tslab only compiles local .ts files under its working directory, so this is what
// lets a notebook in notebooks/ write `import * as pf from "./src"`.
// Jupyter finds this kernelspec through JUPYTER_PATH=<project>/jupyter (set by scripts/jupyter-env.sh).
const path = require("path");
const root = path.resolve(__dirname, "..", "..", "..");
const connectionFile = process.argv[2];
if (!connectionFile) {
  console.error("usage: node launch.js <connection-file>");
  process.exit(2);
}
process.chdir(root);
const { startKernel } = require(path.join(root, "node_modules", "tslab", "dist", "main.js"));
startKernel({ configPath: connectionFile, enableFindLocal: false });
