// Importing this module registers every experiment kind that ships with prefopt. (More kinds can join
// the same way: a module that calls registerExperimentKind, imported here or named in a sweep file's
// `modules`.)
import "./synthetic-kind";
import "./bandit-kind";
import "./lm-kind";
import "./fig2-kind";
