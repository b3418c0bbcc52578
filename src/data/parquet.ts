// Parquet, the format Hugging Face distributes datasets in, read with hyparquet (pure JS, maintained by
// Hyperparam) and hyparquet-compressors (every codec Parquet allows: snappy, gzip, zstd, brotli, lz4).
// Rows come out as plain objects, one row group at a time, so a large file is never decoded whole; they
// then go through the same record parsers, validation and reports as JSON Lines (loaders.ts), with the
// 1-based row number where JSONL has a line number. A row group that cannot be decoded (a corrupt page)
// is named with the file, its index, its rows and the column that fails; the caller may skip it and read
// on (collect mode keeps the rows of the good row groups).
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

/** A row group that could not be decoded. */
export interface BadRowGroup {
  /** 1-based index of the row group, and how many the file has. */
  group: number;
  groups: number;
  /** 1-based number of its first row, and how many rows it holds. */
  firstRow: number;
  rows: number;
  /** The first column that fails when read alone (undefined if each reads alone). */
  column?: string;
  /** The decoder's message. */
  cause: string;
}

export function describeBadRowGroup(b: BadRowGroup): string {
  const column = b.column !== undefined ? `, column ${JSON.stringify(b.column)}` : "";
  return `row group ${b.group} of ${b.groups} (rows ${b.firstRow}–${b.firstRow + b.rows - 1})${column} cannot be decoded (${b.cause}): corrupt data`;
}

export class ParquetRowGroupError extends Error {
  constructor(
    readonly file: string,
    readonly bad: BadRowGroup,
  ) {
    super(`${file}: ${describeBadRowGroup(bad)}`);
    this.name = "ParquetRowGroupError";
  }
}

export interface ParquetReadOptions {
  columns?: string[];
  /** Called for a row group that cannot be decoded, which is then skipped; without it, a ParquetRowGroupError is thrown. */
  onBadRowGroup?: (bad: BadRowGroup) => void;
}

/** The rows of a Parquet file as plain objects, one row group at a time. */
export async function* readParquetRows(file: string, opts: ParquetReadOptions = {}): AsyncGenerator<ParquetRow> {
  if (!fs.existsSync(file)) throw new Error(`${file}: no such file`);
  const { parquetMetadataAsync, parquetReadObjects } = await import("hyparquet");
  const { compressors } = await import("hyparquet-compressors");
  const source = fileBuffer(file);
  let metadata: Awaited<ReturnType<typeof parquetMetadataAsync>>;
  try {
    metadata = await parquetMetadataAsync(source);
  } catch (err) {
    throw new Error(`${file}: not a readable Parquet file: ${(err as Error).message}`);
  }
  const read = (rowStart: number, rowEnd: number, columns: string[] | undefined) =>
    parquetReadObjects({ file: source, metadata, rowStart, rowEnd, columns, compressors });
  const groups = metadata.row_groups;
  let start = 0;
  for (let g = 0; g < groups.length; g++) {
    const end = start + Number(groups[g].num_rows);
    let rows: Record<string, unknown>[];
    try {
      rows = await read(start, end, opts.columns);
    } catch (err) {
      // Name the column: read each (top-level) column of the group alone until one fails.
      const names =
        opts.columns ??
        [...new Set(groups[g].columns.map((c) => c.meta_data?.path_in_schema[0]))].filter(
          (n): n is string => n !== undefined,
        );
      let column: string | undefined;
      for (const name of names) {
        try {
          await read(start, end, [name]);
        } catch {
          column = name;
          break;
        }
      }
      const bad = {
        group: g + 1,
        groups: groups.length,
        firstRow: start + 1,
        rows: end - start,
        column,
        cause: (err as Error).message,
      };
      if (!opts.onBadRowGroup) throw new ParquetRowGroupError(file, bad);
      opts.onBadRowGroup(bad);
      start = end;
      continue;
    }
    for (let i = 0; i < rows.length; i++)
      yield { value: plainValue(rows[i]) as Record<string, unknown>, row: start + i + 1 };
    start = end;
  }
}
