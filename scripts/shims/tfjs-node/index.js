// danfojs-node 1.2.0 requires @tensorflow/tfjs-node 3.x, which would bring a second tfjs-core and a
// libtensorflow download. Re-export the project's @tensorflow/tfjs instead: danfojs then computes on
// whichever backend src/backend.ts selected.
module.exports = require("@tensorflow/tfjs");
