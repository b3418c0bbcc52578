// How sweep kinds read a run's `method` and `lossOptions`: the method is a registered loss (or one of the
// kind's extra methods, e.g. the LM's ppo) and lossOptions are checked against that loss's registry entry,
// so no kind restates which method takes which option. Shared by the bandit and lm kinds.
import "../losses/all";
import {
  getLoss,
  hasLoss,
  listLossTypes,
  resolveLossOptions,
  type LossData,
  type LossEntry,
  type LossOptions,
} from "../losses/registry";
import type { ConfigReader } from "../sweep/kinds";

export interface MethodConfig {
  /** The registered name (aliases such as listwise-dpo are stored under it), or an extra method. */
  method: string;
  /** The loss's registry entry; undefined for an extra method. */
  entry?: LossEntry;
  lossOptions: LossOptions;
}

/**
 * Reads `method` (required) and `lossOptions` (a mapping, validated by the registry with defaults filled).
 * `data` limits the losses to those the kind can feed; `extra` adds non-registry methods whose options are
 * read by `readExtra`. `allow` lets a kind accept a value the schema would reject (KTO's "balanced").
 */
export function readMethod(
  r: ConfigReader,
  opts: {
    data: readonly LossData[];
    extra?: Record<string, (lossOptions: ConfigReader) => LossOptions>;
    allow?: Record<string, unknown>;
  },
): MethodConfig {
  const usable = listLossTypes().filter((l) => opts.data.includes(l.data));
  const names = [...usable.map((l) => l.name), ...Object.keys(opts.extra ?? {})];
  const raw = r.string("method", undefined);
  const extra = opts.extra?.[raw];
  if (!extra && !(hasLoss(raw) && opts.data.includes(getLoss(raw).data)))
    return r.complain(["method"], `must be one of ${names.join(", ")}, got ${JSON.stringify(raw)}`);
  const lo = r.child("lossOptions");
  if (extra) {
    const lossOptions = extra(lo);
    lo.done();
    return { method: raw, lossOptions };
  }
  const entry = getLoss(raw);
  const given: Record<string, unknown> = { ...lo.obj };
  const kept: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(opts.allow ?? {})) {
    if (given[k] === v) {
      kept[k] = v;
      delete given[k];
    }
  }
  const lossOptions = resolveLossOptions(entry.name, given, (option, problem) =>
    r.complain(["lossOptions", option], problem),
  );
  return { method: entry.name, entry, lossOptions: { ...lossOptions, ...(kept as LossOptions) } };
}

/** Complains about keys a kind has renamed, naming the new key (old sweep files fail with a pointer). */
export function checkRenamed(r: ConfigReader, renamed: Record<string, string>): void {
  for (const [old, now] of Object.entries(renamed))
    if (r.has(old)) r.complain([old], `was renamed ${now} (one vocabulary for both tracks)`);
}
