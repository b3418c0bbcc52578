// A minimal reader for (gzipped) tar archives: enough for dataset tarballs such as rt-polaritydata.tar.gz.
// Handles ustar name prefixes, GNU long names ('L') and pax extended headers ('x' with path=); yields
// regular files only. Format: POSIX.1-1988 ustar / pax (IEEE Std 1003.1-2001), 512-byte blocks.
import * as zlib from "zlib";

export interface TarEntry {
  name: string;
  data: Buffer;
}

const BLOCK = 512;

function cString(buf: Buffer, start: number, length: number): string {
  const slice = buf.subarray(start, start + length);
  const end = slice.indexOf(0);
  return slice.subarray(0, end === -1 ? slice.length : end).toString("utf8");
}

function octal(buf: Buffer, start: number, length: number, where: string): number {
  const field = buf.subarray(start, start + length);
  if (field[0] & 0x80) {
    // GNU base-256 encoding for sizes ≥ 8 GiB
    let v = field[0] & 0x7f;
    for (let i = 1; i < field.length; i++) v = v * 256 + field[i];
    return v;
  }
  const text = cString(buf, start, length).trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw new Error(`tar: bad octal number ${JSON.stringify(text)} in ${where}`);
  return parseInt(text, 8);
}

function checksumOk(header: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i];
  return sum === octal(header, 148, 8, "header checksum");
}

function paxPath(records: Buffer): string | undefined {
  // "<len> key=value\n" records
  let pos = 0;
  let found: string | undefined;
  while (pos < records.length) {
    const space = records.indexOf(0x20, pos);
    if (space < 0) break;
    const len = parseInt(records.subarray(pos, space).toString("ascii"), 10);
    if (!(len > 0)) break;
    const rec = records.subarray(space + 1, pos + len - 1).toString("utf8");
    const eq = rec.indexOf("=");
    if (rec.slice(0, eq) === "path") found = rec.slice(eq + 1);
    pos += len;
  }
  return found;
}

/** Default cap on a gzipped archive's unpacked size (1 GiB). */
export const MAX_TAR_BYTES = 2 ** 30;

/**
 * Entries of a tar archive (gunzipped first if it starts with the gzip magic bytes). Gunzipping stops
 * with an error once the output passes `maxBytes` (default 1 GiB): a 1 MB gzip of 1 GiB of zeros is not
 * inflated in full before its members are looked at.
 */
export function readTar(archive: Buffer, opts: { maxBytes?: number } = {}): TarEntry[] {
  const maxBytes = opts.maxBytes ?? MAX_TAR_BYTES;
  let tar = archive;
  if (archive[0] === 0x1f && archive[1] === 0x8b) {
    try {
      tar = zlib.gunzipSync(archive, { maxOutputLength: maxBytes });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE" || e instanceof RangeError) {
        throw new Error(`tar: the archive unpacks to more than ${maxBytes} bytes (the cap); refusing to inflate it`);
      }
      throw new Error(`tar: gzip data is truncated or corrupt (${(e as Error).message})`);
    }
  } else if (archive.length > maxBytes) throw new Error(`tar: the archive is larger than ${maxBytes} bytes (the cap)`);
  const entries: TarEntry[] = [];
  let offset = 0;
  let nextName: string | undefined;
  while (offset + BLOCK <= tar.length) {
    const header = tar.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) break; // end-of-archive marker
    if (!checksumOk(header))
      throw new Error(`tar: header checksum mismatch at byte ${offset} (not a tar file, or corrupted)`);
    const size = octal(header, 124, 12, `header at byte ${offset}`);
    const type = String.fromCharCode(header[156] || 0x30);
    const magic = cString(header, 257, 6);
    const prefix = magic.startsWith("ustar") ? cString(header, 345, 155) : "";
    const baseName = cString(header, 0, 100);
    const name = nextName ?? (prefix ? `${prefix}/${baseName}` : baseName);
    const dataStart = offset + BLOCK;
    if (dataStart + size > tar.length)
      throw new Error(`tar: entry "${name}" runs past the end of the archive (truncated?)`);
    const data = tar.subarray(dataStart, dataStart + size);
    offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    if (type === "L") {
      nextName = cString(data, 0, data.length);
      continue;
    }
    if (type === "x") {
      nextName = paxPath(data) ?? nextName;
      continue;
    }
    nextName = undefined;
    if (type === "0" || type === "7") entries.push({ name, data: Buffer.from(data) });
  }
  if (offset < tar.length && tar.length - offset < BLOCK)
    throw new Error(`tar: ${tar.length - offset} stray bytes after byte ${offset} (truncated archive?)`);
  return entries;
}

/** Build an uncompressed ustar archive (regular files only); used by tests and for round trips. */
export function writeTar(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const { name, data } of entries) {
    if (Buffer.byteLength(name) > 100) throw new Error(`writeTar: name longer than 100 bytes: ${name}`);
    const h = Buffer.alloc(BLOCK);
    h.write(name, 0, "utf8");
    h.write("0000644\0", 100, "ascii");
    h.write("0000000\0", 108, "ascii");
    h.write("0000000\0", 116, "ascii");
    h.write(data.length.toString(8).padStart(11, "0") + "\0", 124, "ascii");
    h.write("00000000000\0", 136, "ascii");
    h.write("0", 156, "ascii");
    h.write("ustar\0" + "00", 257, "ascii");
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
    h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "ascii");
    blocks.push(h, data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK));
  }
  blocks.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(blocks);
}
