// Turning one parsed JSON value into a typed record, or a RecordError naming the field and the reason.
import { RecordError } from "./validation";
import type { ChatMessage, Extra, PreferenceRecord, RankingRecord, Text, UnpairedRecord } from "./types";
import { isChat, textsEqual } from "./types";

/** The marker HH-RLHF dialogues use before each assistant turn. */
export const HH_ASSISTANT_MARKER = "\n\nAssistant:";

export type PromptMode =
  /** `prompt` must be present. */
  | "explicit"
  /** No `prompt`: chosen/rejected are whole dialogues and the prompt is their shared prefix. */
  | "implicit"
  /** explicit when the record has a `prompt` field, implicit otherwise. */
  | "auto";

export interface PreferenceParseOptions {
  prompt?: PromptMode;
  /** Implicit string prompts end at the last occurrence of this marker in the shared prefix. */
  assistantMarker?: string;
  /**
   * Explicit prompt whose chosen/rejected repeat it at the start (whole dialogues plus a prompt column):
   * the prompt must be a prefix of both, and is removed from them.
   */
  completionsIncludePrompt?: boolean;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}

export function asObject(value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new RecordError("wrong-type", `record must be a JSON object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

/** A string (non-blank) or a non-empty list of {role, content} messages. */
export function parseText(value: unknown, field: string): Text {
  if (value === undefined) throw new RecordError("missing-field", `missing field "${field}"`, field);
  if (typeof value === "string") {
    if (value.trim() === "") throw new RecordError("empty-text", `"${field}" is empty`, field);
    return value;
  }
  if (Array.isArray(value)) {
    if (value.length === 0) throw new RecordError("empty-text", `"${field}" is an empty message list`, field);
    const messages: ChatMessage[] = value.map((m, i) => {
      const where = `${field}[${i}]`;
      if (typeof m !== "object" || m === null || Array.isArray(m)) {
        throw new RecordError("wrong-type", `"${where}" must be a {role, content} object, got ${describe(m)}`, where);
      }
      const { role, content } = m as Record<string, unknown>;
      if (typeof role !== "string")
        throw new RecordError(
          role === undefined ? "missing-field" : "wrong-type",
          `"${where}.role" must be a string, got ${describe(role)}`,
          `${where}.role`,
        );
      if (typeof content !== "string")
        throw new RecordError(
          content === undefined ? "missing-field" : "wrong-type",
          `"${where}.content" must be a string, got ${describe(content)}`,
          `${where}.content`,
        );
      // Other message fields (name, tool_calls, …) are kept, so load → export → load is the identity.
      return { ...(m as Record<string, unknown>), role, content };
    });
    if (messages.every((m) => m.content.trim() === ""))
      throw new RecordError("empty-text", `every message in "${field}" is empty`, field);
    return messages;
  }
  throw new RecordError(
    "wrong-type",
    `"${field}" must be a string or a list of {role, content} messages, got ${describe(value)}`,
    field,
  );
}

function extraFields(obj: Record<string, unknown>, known: string[]): Extra | undefined {
  const extra: Extra = {};
  let any = false;
  for (const [k, v] of Object.entries(obj)) {
    if (!known.includes(k)) {
      // defineProperty, not assignment: a field named "__proto__" stays a field instead of becoming a prototype.
      Object.defineProperty(extra, k, { value: v, enumerable: true, writable: true, configurable: true });
      any = true;
    }
  }
  return any ? extra : undefined;
}

/** Two chat messages are the same when every field is (role, content and any others such as name). */
function sameMessage(a: ChatMessage, b: ChatMessage): boolean {
  if (a.role !== b.role || a.content !== b.content) return false;
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return false;
  return ka.every(
    (k) =>
      JSON.stringify((a as unknown as Record<string, unknown>)[k]) ===
      JSON.stringify((b as unknown as Record<string, unknown>)[k]),
  );
}

function commonPrefixLength(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

/**
 * Split two whole dialogues into (prompt, chosen, rejected). Strings: the prompt is the shared prefix up to
 * and including the last `marker` inside it (HH-RLHF). Message lists: the prompt is the longest run of
 * identical leading messages. Throws prompt-not-prefix when no such prompt exists.
 */
export function splitImplicitPrompt(chosen: Text, rejected: Text, marker = HH_ASSISTANT_MARKER): PreferenceRecord {
  if (typeof chosen === "string" && typeof rejected === "string") {
    const shared = commonPrefixLength(chosen, rejected);
    const at = chosen.lastIndexOf(marker, shared - marker.length);
    if (at < 0 || at + marker.length > shared) {
      throw new RecordError(
        "prompt-not-prefix",
        `chosen and rejected share no prefix ending in ${JSON.stringify(marker)}`,
        "chosen",
      );
    }
    const cut = at + marker.length;
    return { prompt: chosen.slice(0, cut), chosen: chosen.slice(cut), rejected: rejected.slice(cut) };
  }
  if (isChat(chosen) && isChat(rejected)) {
    let k = 0;
    while (k < chosen.length && k < rejected.length && sameMessage(chosen[k], rejected[k])) k++;
    if (k === 0) throw new RecordError("prompt-not-prefix", "chosen and rejected share no leading messages", "chosen");
    return { prompt: chosen.slice(0, k), chosen: chosen.slice(k), rejected: rejected.slice(k) };
  }
  throw new RecordError("wrong-type", "chosen and rejected must both be strings or both be message lists", "rejected");
}

function startsWithText(whole: Text, prefix: Text): boolean {
  if (typeof whole === "string" && typeof prefix === "string") return whole.startsWith(prefix);
  if (isChat(whole) && isChat(prefix))
    return prefix.every((m, i) => whole[i] !== undefined && sameMessage(whole[i], m));
  return false;
}

function dropPrefix(whole: Text, prefix: Text): Text {
  return typeof whole === "string"
    ? whole.slice((prefix as string).length)
    : whole.slice((prefix as ChatMessage[]).length);
}

function checkRemainders(pair: PreferenceRecord): PreferenceRecord {
  for (const field of ["chosen", "rejected"] as const) {
    const t = pair[field];
    if (typeof t === "string" ? t.trim() === "" : t.length === 0 || t.every((m) => m.content.trim() === "")) {
      throw new RecordError("empty-text", `"${field}" is empty once the prompt is removed`, field);
    }
  }
  if (textsEqual(pair.chosen, pair.rejected))
    throw new RecordError("identical", "chosen is identical to rejected", "rejected");
  return pair;
}

/**
 * A string prompt with message-list completions (Hugging Face's UltraFeedback-binarized layout, which TRL
 * reads by extracting the prompt from the conversations). Two shapes are accepted, nothing is dropped:
 *   - both conversations repeat the prompt: they share leading messages that end in a user message whose
 *     content is the prompt → those messages are the prompt, the rest are the completions;
 *   - neither conversation has a user message → the prompt becomes [{role: "user", content: prompt}].
 * Anything else (a prompt the conversations contradict) is left to the caller's mixed-type error.
 */
function liftStringPrompt(
  prompt: string,
  chosen: ChatMessage[],
  rejected: ChatMessage[],
): PreferenceRecord | { error: true } {
  const hasUser = (c: ChatMessage[]) => c.some((m) => m.role === "user");
  if (!hasUser(chosen) && !hasUser(rejected)) return { prompt: [{ role: "user", content: prompt }], chosen, rejected };
  let k = 0;
  while (k < chosen.length && k < rejected.length && sameMessage(chosen[k], rejected[k])) k++;
  // The shared run ends at the last user message within it, whose content must be the prompt.
  let last = -1;
  for (let i = 0; i < k; i++) if (chosen[i].role === "user") last = i;
  if (last < 0 || chosen[last].content.trim() !== prompt.trim()) return { error: true };
  return { prompt: chosen.slice(0, last + 1), chosen: chosen.slice(last + 1), rejected: rejected.slice(last + 1) };
}

export function parsePreference(value: unknown, opts: PreferenceParseOptions = {}): PreferenceRecord {
  const obj = asObject(value);
  const mode = opts.prompt ?? "auto";
  const explicit = mode === "explicit" || (mode === "auto" && obj.prompt !== undefined);
  const chosen = parseText(obj.chosen, "chosen");
  const rejected = parseText(obj.rejected, "rejected");
  const extra = extraFields(obj, ["prompt", "chosen", "rejected"]);
  let pair: PreferenceRecord;
  if (explicit) {
    let prompt = parseText(obj.prompt, "prompt");
    if (typeof prompt === "string" && isChat(chosen) && isChat(rejected)) {
      // Hugging Face's UltraFeedback-binarized layout: a string prompt beside whole conversations.
      const lifted = liftStringPrompt(prompt, chosen, rejected);
      if ("prompt" in lifted) {
        prompt = lifted.prompt;
        pair = { prompt, chosen: lifted.chosen, rejected: lifted.rejected };
        checkRemainders(pair);
        if (extra) pair.extra = extra;
        return pair;
      }
    }
    // As in implicit mode: all strings or all message lists (TRL's standard vs conversational format).
    const kinds = [prompt, chosen, rejected].map((t) => (typeof t === "string" ? "a string" : "a message list"));
    if (new Set(kinds).size > 1) {
      throw new RecordError(
        "wrong-type",
        `prompt, chosen and rejected must all be strings or all be message lists; got prompt ${kinds[0]}, chosen ${kinds[1]}, rejected ${kinds[2]}`,
        kinds[1] !== kinds[0] ? "chosen" : "rejected",
      );
    }
    if (opts.completionsIncludePrompt) {
      for (const field of ["chosen", "rejected"] as const) {
        const t = field === "chosen" ? chosen : rejected;
        if (!startsWithText(t, prompt))
          throw new RecordError("prompt-not-prefix", `"prompt" is not a prefix of "${field}"`, field);
      }
      pair = { prompt, chosen: dropPrefix(chosen, prompt), rejected: dropPrefix(rejected, prompt) };
    } else {
      pair = { prompt, chosen, rejected };
    }
  } else {
    if (mode === "implicit" && obj.prompt !== undefined)
      throw new RecordError("wrong-type", 'implicit-prompt records must not have a "prompt" field', "prompt");
    pair = splitImplicitPrompt(chosen, rejected, opts.assistantMarker);
  }
  checkRemainders(pair);
  if (extra) pair.extra = extra;
  return pair;
}

export function parseUnpaired(value: unknown): UnpairedRecord {
  const obj = asObject(value);
  const prompt = parseText(obj.prompt, "prompt");
  const completion = parseText(obj.completion, "completion");
  if (obj.label === undefined) throw new RecordError("missing-field", 'missing field "label"', "label");
  if (typeof obj.label !== "boolean")
    throw new RecordError(
      "label-not-boolean",
      `"label" must be true or false, got ${JSON.stringify(obj.label)}`,
      "label",
    );
  const out: UnpairedRecord = { prompt, completion, label: obj.label };
  const extra = extraFields(obj, ["prompt", "completion", "label"]);
  if (extra) out.extra = extra;
  return out;
}

export function parseRanking(value: unknown): RankingRecord {
  const obj = asObject(value);
  const prompt = parseText(obj.prompt, "prompt");
  if (obj.responses === undefined) throw new RecordError("missing-field", 'missing field "responses"', "responses");
  if (!Array.isArray(obj.responses))
    throw new RecordError("wrong-type", `"responses" must be an array, got ${describe(obj.responses)}`, "responses");
  if (obj.responses.length < 2)
    throw new RecordError(
      "bad-row",
      `"responses" needs at least 2 entries to rank, got ${obj.responses.length}`,
      "responses",
    );
  const responses = obj.responses.map((r, i) => parseText(r, `responses[${i}]`));
  const out: RankingRecord = { prompt, responses };
  if (obj.scores !== undefined) {
    const s = obj.scores;
    if (
      !Array.isArray(s) ||
      s.length !== responses.length ||
      !s.every((x) => typeof x === "number" && Number.isFinite(x))
    ) {
      throw new RecordError(
        "wrong-type",
        `"scores" must be ${responses.length} finite numbers aligned with "responses"`,
        "scores",
      );
    }
    for (let i = 1; i < s.length; i++) {
      if ((s[i] as number) > (s[i - 1] as number))
        throw new RecordError(
          "bad-row",
          `"scores" must be non-increasing (responses are best first); scores[${i}] > scores[${i - 1}]`,
          "scores",
        );
    }
    out.scores = s as number[];
  }
  const extra = extraFields(obj, ["prompt", "responses", "scores"]);
  if (extra) out.extra = extra;
  return out;
}
