// prefopt's public API. Data flows one way: data → policy → losses → trainers → experiments → plots.
export { initBackend, availableBackends } from "./backend";
export type { BackendInfo, BackendName } from "./backend";
export { Rng, makeRng, hashString } from "./random";
export { logSigmoid, logSumExp } from "./ops";
export { showFigure, showTable, showMarkdown, escapeHtml, tableHtml, figureHtml } from "./display";
export type { PlotlyFigure } from "./display";
