// Record types for real preference data. These mirror the dataset formats TRL reads, so a file written
// by the exporters here loads there unchanged:
//   preference  {prompt, chosen, rejected}          (DPO/IPO/reward modelling; "explicit prompt")
//   implicit    {chosen, rejected}                   (HH-RLHF: whole dialogues, prompt = shared prefix)
//   unpaired    {prompt, completion, label: bool}    (KTO)
//   ranking     {prompt, responses[]}  best first    (Plackett–Luce; optional scores[] for ties)
// A text is either a plain string or a chat-message list (TRL's "conversational" format).

export interface ChatMessage {
  role: string;
  content: string;
}

export type Text = string | ChatMessage[];

/** Fields of the source record that the format does not name, written back by the exporters. */
export type Extra = Record<string, unknown>;

/**
 * One preference: `chosen` ≻ `rejected` for `prompt`. The one pair type of the project: T is the text here;
 * the bandit track's pairs are PreferenceRecord<number> (responses are indices, `BanditPair`) and the LM
 * track's `TokenizedPair` extends PreferenceRecord<string> with the token sequences its trainer uses.
 */
export interface PreferenceRecord<T = Text> {
  prompt: T;
  chosen: T;
  rejected: T;
  extra?: Extra;
}

export interface UnpairedRecord {
  prompt: Text;
  completion: Text;
  /** true = desirable (KTO's y_w side), false = undesirable. */
  label: boolean;
  extra?: Extra;
}

export interface RankingRecord {
  prompt: Text;
  /** Best first. */
  responses: Text[];
  /** Optional scores aligned with `responses` (non-increasing); equal scores are ties. */
  scores?: number[];
  extra?: Extra;
}

/** One line of a labelled-sentence corpus (rt-polarity, UCI sentences): label 0 = negative, 1 = positive. */
export interface LabelledText {
  text: string;
  label: number;
  source: string;
}

/** Text encodings the readers accept. "latin1" is ISO-8859-1 (byte → same code point). */
export type TextEncoding = "utf8" | "latin1" | "windows-1252";

/** Where a record came from: file and 1-based line of its first character. */
export interface Provenance {
  file: string;
  line: number;
}

export function isChat(text: Text): text is ChatMessage[] {
  return Array.isArray(text);
}

/** A canonical string for a text: hashing, duplicate detection and prompt keys use it. */
export function textKey(text: Text): string {
  return typeof text === "string" ? text : JSON.stringify(text.map((m) => [m.role, m.content]));
}

/** Plain string view of a text (chat messages joined as "role: content" lines). */
export function textToString(text: Text): string {
  return typeof text === "string" ? text : text.map((m) => `${m.role}: ${m.content}`).join("\n");
}

export function textsEqual(a: Text, b: Text): boolean {
  return textKey(a) === textKey(b);
}
