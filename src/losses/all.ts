// Every registered loss: importing this module registers them all. Adding a loss = one file in entries/
// and one line here.
import "./entries/dpo";
import "./entries/dpop";
import "./entries/sigmoid";
import "./entries/robust";
import "./entries/hinge";
import "./entries/ipo";
import "./entries/exo_pair";
import "./entries/nca_pair";
import "./entries/bco_pair";
import "./entries/sppo_hard";
import "./entries/aot";
import "./entries/apo_zero";
import "./entries/apo_down";
import "./entries/discopop";
import "./entries/sft";
import "./entries/sigmoid_norm";
import "./entries/simpo";
import "./entries/cpo";
import "./entries/orpo";
import "./entries/kto";
import "./entries/listwise";
import "./entries/unlikelihood";
