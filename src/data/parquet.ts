// Parquet, the format Hugging Face distributes datasets in, read with hyparquet (pure JS, maintained by
// Hyperparam) and hyparquet-compressors (every codec Parquet allows: snappy, gzip, zstd, brotli, lz4).
// Rows come out as plain objects, one row group at a time, so a large file is never decoded whole; they
// then go through the same record parsers, validation and reports as JSON Lines (loaders.ts), with the
// 1-based row number where JSONL has a line number.
import * as fs from "fs";

const MAGIC = "PAR1";

/** True when the file starts with Parquet's magic bytes "PAR1" (the extension is not trusted). */
export function isParquetFile(file: string): boolean {
  const fd = fs.openSync(file, "r");
  try {
    const head = Buffer.alloc(4);
    return fs.readSync(fd, head, 0, 4, 0) === 4 && head.toString("latin1") === MAGIC;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Parquet values as JSON-like values: INT64 arrives as BigInt (exact integers up to 2^53 become numbers,
 * larger ones decimal strings), timestamps as Date (ISO strings); lists and structs are walked.
 */
export function plainValue(value: unknown): unknown {
  if (typeof value === "bigint") return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(plainValue);
  if (value !== null && typeof value === "object" && !ArrayBuffer.isView(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = plainValue(v);
    return out;
  }
  return value;
}

/** hyparquet's AsyncBuffer over a file: reads only the byte ranges asked for (footer, then column chunks). */
function fileBuffer(file: string): { byteLength: number; slice(start: number, end?: number): Promise<ArrayBuffer> } {
  const byteLength = fs.statSync(file).size;
  return {
    byteLength,
    async slice(start: number, end = byteLength): Promise<ArrayBuffer> {
      const handle = await fs.promises.open(file, "r");
      try {
        const bytes = new Uint8Array(end - start);
        await handle.read(bytes, 0, bytes.length, start);
        return bytes.buffer;
      } finally {
        await handle.close();
      }
    },
  };
}

export interface ParquetRow {
  value: Record<string, unknown>;
  /** 1-based row number in the file. */
  row: number;
}

/** The rows of a Parquet file as plain objects, one row group at a time. */
export async function* readParquetRows(file: string, opts: { columns?: string[] } = {}): AsyncGenerator<ParquetRow> {
  if (!fs.existsSync(file)) throw new Error(`${file}: no such file`);
  const { parquetMetadataAsync, parquetReadObjects } = await import("hyparquet");
  const { compressors } = await import("hyparquet-compressors");
  const source = fileBuffer(file);
  let metadata;
  try {
    metadata = await parquetMetadataAsync(source);
  } catch (err) {
    throw new Error(`${file}: not a readable Parquet file: ${(err as Error).message}`);
  }
  let start = 0;
  for (const group of metadata.row_groups) {
    const end = start + Number(group.num_rows);
    const rows = await parquetReadObjects({
      file: source,
      metadata,
      rowStart: start,
      rowEnd: end,
      columns: opts.columns,
      compressors,
    });
    for (let i = 0; i < rows.length; i++)
      yield { value: plainValue(rows[i]) as Record<string, unknown>, row: start + i + 1 };
    start = end;
  }
}
