// The experiment kinds that ship with prefopt, in one list. Importing this module declares each kind by
// the module that registers it (the sweep engine loads a kind's module the first time a sweep asks for
// it, in this thread and in every worker), so nothing heavy loads until a sweep needs it: a synthetic
// sweep never loads tfjs. A test checks that every *-kind.ts file here is in this list and registers the
// name it is listed under, and that each kind's version changes whenever its results do.
import * as path from "path";
import { declareKindModules } from "../sweep/kinds";

/** Kind name → the file in this folder that registers it. */
export const BUILTIN_KINDS = {
  synthetic: "synthetic-kind.ts",
  bandit: "bandit-kind.ts",
  lm: "lm-kind.ts",
  fig2: "fig2-kind.ts",
} as const;

export type BuiltinKindName = keyof typeof BUILTIN_KINDS;

declareKindModules(
  Object.fromEntries(Object.entries(BUILTIN_KINDS).map(([name, file]) => [name, path.join(__dirname, file)])),
);
