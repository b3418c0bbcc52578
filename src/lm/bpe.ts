// A byte-level byte-pair-encoding (BPE) tokenizer trained on the training text (Sennrich et al. 2016,
// "Neural Machine Translation of Rare Words with Subword Units", Algorithm 1; byte-level as in GPT-2,
// Radford et al. 2019 §2.2), for the language-model track on real text (notebook 11), where the word
// tokenizer maps a fifth of the words to <unk>.
//
//   ids 0…3      the special tokens of tokenizer.ts (<pad>, <bos>, <eos>, <unk>); <unk> is never produced
//   ids 4…259    the 256 bytes (byte fallback: every UTF-8 string is encodable, nothing is <unk>)
//   ids 260…     merges, in the order they were learned: token = concatenation of its two parts' bytes
//
// Training: the text is cut into pre-tokens (a word with its leading space, a run of digits, of punctuation,
// or of white space; merges never cross them), each pre-token is a sequence of byte tokens, and each merge
// step joins the adjacent pair (a, b) with the largest count Σ_words freq(word)·#(a, b in word); ties go to
// the smallest (a, b) by id, so training is deterministic. It stops at `vocabSize` or when no pair occurs
// twice. Encoding applies the learned merges to each pre-token by rank (earliest-learned pair first), as
// GPT-2's encoder does; decoding concatenates bytes and decodes UTF-8, so decode(encode(s)) = s exactly for
// well-formed UTF-16 text. A lone surrogate (half of a pair, which UTF-8 cannot encode) is encoded as the
// bytes of U+FFFD by TextEncoder and so decodes as U+FFFD (test/bpe.test.ts shows it).
// No npm package fit: the pure-JS BPE packages (gpt-tokenizer, js-tiktoken, @huggingface/tokenizers) only
// encode with a fixed, downloaded vocabulary, and the trainers (`tokenizers`) are native Rust builds.
import { SPECIAL_TOKENS } from "./tokenizer";

/** Pre-tokens: optional space + letters, optional space + digits, optional space + other marks, white space. */
const PRE_TOKEN = /[ ]?\p{L}+|[ ]?\p{N}+|[ ]?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

export const BYTE_OFFSET = SPECIAL_TOKENS.length;
const FIRST_MERGE = BYTE_OFFSET + 256;

export interface BpeTokenizerJson {
  kind: "bpe";
  /** Merges in learned order: merge i makes token 260 + i from tokens [a, b]. */
  merges: Array<[number, number]>;
}

export interface BpeTrainStats {
  /** Merges learned (vocabulary = 260 + merges). */
  merges: number;
  /** Distinct pre-tokens of the training text. */
  preTokens: number;
  /** True when training stopped before vocabSize because no pair occurred twice. */
  exhausted: boolean;
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: false });

export function preTokenize(text: string): string[] {
  return text.match(PRE_TOKEN) ?? [];
}

const pairKey = (a: number, b: number) => a * 1_048_576 + b;

export class BpeTokenizer {
  /** Bytes of every token (specials: their name's bytes, only for display). */
  private readonly bytes: Uint8Array[];
  /** Rank of each merge by its pair key. */
  private readonly rank = new Map<number, number>();
  private readonly cache = new Map<string, number[]>();

  constructor(readonly merges: ReadonlyArray<readonly [number, number]>) {
    this.bytes = [
      ...SPECIAL_TOKENS.map((s) => utf8.encode(s)),
      ...Array.from({ length: 256 }, (_, b) => Uint8Array.of(b)),
    ];
    merges.forEach(([a, b], i) => {
      const id = FIRST_MERGE + i;
      if (!Number.isInteger(a) || !Number.isInteger(b) || a < BYTE_OFFSET || b < BYTE_OFFSET || a >= id || b >= id)
        throw new Error(
          `BpeTokenizer: merge ${i} = [${a}, ${b}] must join two earlier non-special tokens (ids ${BYTE_OFFSET}…${id - 1})`,
        );
      const key = pairKey(a, b);
      if (this.rank.has(key))
        throw new Error(`BpeTokenizer: merge ${i} = [${a}, ${b}] repeats merge ${this.rank.get(key)}`);
      this.rank.set(key, i);
      const t = new Uint8Array(this.bytes[a].length + this.bytes[b].length);
      t.set(this.bytes[a]);
      t.set(this.bytes[b], this.bytes[a].length);
      this.bytes.push(t);
    });
  }

  /** Learn up to vocabSize − 260 merges from `texts` (deterministic: same texts, same merges). */
  static train(texts: readonly string[], vocabSize: number): { tokenizer: BpeTokenizer; stats: BpeTrainStats } {
    if (!Number.isInteger(vocabSize) || vocabSize < FIRST_MERGE)
      throw new Error(
        `BpeTokenizer.train: vocabSize must be an integer ≥ ${FIRST_MERGE} (specials + 256 bytes), got ${vocabSize}`,
      );
    const freq = new Map<string, number>();
    for (const t of texts) for (const w of preTokenize(t)) freq.set(w, (freq.get(w) ?? 0) + 1);
    const words: number[][] = [];
    const counts: number[] = [];
    for (const [w, c] of [...freq.entries()].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))) {
      words.push(Array.from(utf8.encode(w), (b) => b + BYTE_OFFSET));
      counts.push(c);
    }
    // Pair counts and, per pair, the words that contain it (updated incrementally after every merge).
    const pairCount = new Map<number, number>();
    const where = new Map<number, Set<number>>();
    const addWord = (wi: number, sign: number) => {
      const w = words[wi];
      for (let i = 0; i + 1 < w.length; i++) {
        const k = pairKey(w[i], w[i + 1]);
        const c = (pairCount.get(k) ?? 0) + sign * counts[wi];
        if (c === 0) pairCount.delete(k);
        else pairCount.set(k, c);
        if (sign > 0) {
          let s = where.get(k);
          if (!s) where.set(k, (s = new Set()));
          s.add(wi);
        }
      }
    };
    words.forEach((_, wi) => addWord(wi, 1));
    const merges: Array<[number, number]> = [];
    let exhausted = false;
    while (FIRST_MERGE + merges.length < vocabSize) {
      let best = -1;
      let bestCount = 1; // a pair must occur at least twice to be merged
      for (const [k, c] of pairCount)
        if (c > bestCount || (c === bestCount && c > 1 && k < best)) ((best = k), (bestCount = c));
      if (best < 0) {
        exhausted = true;
        break;
      }
      const a = Math.floor(best / 1_048_576);
      const b = best % 1_048_576;
      const id = FIRST_MERGE + merges.length;
      merges.push([a, b]);
      for (const wi of [...(where.get(best) ?? [])].sort((x, y) => x - y)) {
        addWord(wi, -1);
        const w = words[wi];
        const out: number[] = [];
        for (let i = 0; i < w.length; i++) {
          if (i + 1 < w.length && w[i] === a && w[i + 1] === b) (out.push(id), i++);
          else out.push(w[i]);
        }
        words[wi] = out;
        addWord(wi, 1);
      }
      where.delete(best);
    }
    return {
      tokenizer: new BpeTokenizer(merges),
      stats: { merges: merges.length, preTokens: words.length, exhausted },
    };
  }

  static fromJSON(json: BpeTokenizerJson): BpeTokenizer {
    if (json?.kind !== "bpe" || !Array.isArray(json.merges))
      throw new Error("BpeTokenizer.fromJSON: expected {kind: 'bpe', merges: [number, number][]}");
    json.merges.forEach((m, i) => {
      if (!Array.isArray(m) || m.length !== 2) throw new Error(`BpeTokenizer.fromJSON: merges[${i}] must be [a, b]`);
    });
    return new BpeTokenizer(json.merges.map(([a, b]) => [a, b] as [number, number]));
  }

  toJSON(): BpeTokenizerJson {
    return { kind: "bpe", merges: this.merges.map(([a, b]) => [a, b]) };
  }

  get size(): number {
    return this.bytes.length;
  }

  /** Token ids of `text` (no <bos>/<eos>); never <unk>. */
  encode(text: string): number[] {
    const out: number[] = [];
    for (const w of preTokenize(text)) {
      let ids = this.cache.get(w);
      if (!ids) {
        ids = this.encodeWord(w);
        if (this.cache.size > 200_000) this.cache.clear();
        this.cache.set(w, ids);
      }
      for (const id of ids) out.push(id);
    }
    return out;
  }

  /** One pre-token: its bytes, then repeatedly the lowest-ranked adjacent pair merged (all its occurrences). */
  private encodeWord(w: string): number[] {
    let ids = Array.from(utf8.encode(w), (b) => b + BYTE_OFFSET);
    for (;;) {
      let bestRank = Infinity;
      for (let i = 0; i + 1 < ids.length; i++) {
        const r = this.rank.get(pairKey(ids[i], ids[i + 1]));
        if (r !== undefined && r < bestRank) bestRank = r;
      }
      if (bestRank === Infinity) return ids;
      const [a, b] = this.merges[bestRank];
      const next: number[] = [];
      for (let i = 0; i < ids.length; i++) {
        if (i + 1 < ids.length && ids[i] === a && ids[i + 1] === b) (next.push(FIRST_MERGE + bestRank), i++);
        else next.push(ids[i]);
      }
      ids = next;
    }
  }

  /** The bytes of the ids, UTF-8-decoded (a sequence cut inside a character shows U+FFFD there). */
  decode(ids: readonly number[], keepSpecial = false): string {
    const parts: Uint8Array[] = [];
    let n = 0;
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.bytes.length)
        throw new Error(`BpeTokenizer.decode: id ${id} outside [0, ${this.bytes.length})`);
      if (id < BYTE_OFFSET && !keepSpecial) continue;
      parts.push(this.bytes[id]);
      n += this.bytes[id].length;
    }
    const all = new Uint8Array(n);
    let o = 0;
    for (const p of parts) (all.set(p, o), (o += p.length));
    return utf8Decoder.decode(all);
  }

  /** The text of one token (its bytes, decoded), for tables. */
  tokenText(id: number): string {
    return this.decode([id], true);
  }

  /** Mean number of tokens per whitespace-separated word of `texts` (the compression the merges bought). */
  tokensPerWord(texts: readonly string[]): number {
    let tokens = 0;
    let words = 0;
    for (const t of texts) {
      tokens += this.encode(t).length;
      words += t.split(/\s+/).filter(Boolean).length;
    }
    return words === 0 ? 0 : tokens / words;
  }
}
