// Streaming gunzip that keeps every byte it could decompress and says exactly what went wrong after it.
// Node's Gunzip stream, on an error, drops the output of the write that failed (up to one 16 KB block, or
// a whole small file): non-gzip bytes after the last member ("incorrect header check") lost the member's
// last records. Here each member (RFC 1952: header, raw deflate data, CRC-32 and length trailer) is read
// on its own with a raw inflater, which stops cleanly at the end of the deflate data; what follows is then
// end of file, zero padding (accepted, as gzip(1) does), another member, or trailing bytes, reported as a
// GzipTrailingBytesError after every decompressed byte has been yielded.
import * as fs from "fs";
import * as zlib from "zlib";

/** Input is read this many bytes at a time (output per step is at most this times the deflate ratio, 1032). */
const INPUT_CHUNK = 16 * 1024;
/** Output arrives in pieces of this size (Node's default, 16 KB, makes highly compressed files slow). */
const OUTPUT_CHUNK = 256 * 1024;

/** Damaged or cut-short gzip data; the message says what (e.g. "unexpected end of file"). */
export class GzipDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GzipDataError";
  }
}

/** Bytes after the last complete gzip member that are neither padding nor another member. */
export class GzipTrailingBytesError extends Error {
  constructor(
    readonly offset: number,
    readonly bytes: number,
  ) {
    super(`${bytes} bytes after the end of the gzip data (from byte ${offset}) are not gzip data`);
    this.name = "GzipTrailingBytesError";
  }
}

/** Length of the gzip member header at the start of `b` (RFC 1952 §2.3), or undefined if `b` is too short. */
function headerLength(b: Buffer): number | undefined {
  if (b.length < 10) return undefined;
  if (b[2] !== 8) throw new GzipDataError(`unknown compression method ${b[2]} in the gzip header`);
  const flags = b[3];
  if (flags & 0xe0) throw new GzipDataError("reserved flag bits are set in the gzip header");
  let i = 10;
  if (flags & 4) {
    if (b.length < i + 2) return undefined;
    i += 2 + b.readUInt16LE(i); // FEXTRA
  }
  for (const bit of [8, 16]) {
    if (!(flags & bit)) continue; // FNAME, FCOMMENT: zero-terminated
    const z = b.indexOf(0, i);
    if (z < 0) return undefined;
    i = z + 1;
  }
  if (flags & 2) i += 2; // FHCRC
  return b.length >= i ? i : undefined;
}

/**
 * The decompressed content of a gzip file, chunk by chunk, member after member. Throws GzipDataError for
 * damaged or cut-short data and GzipTrailingBytesError for bytes after the last member, in both cases only
 * after yielding everything decompressed before the problem.
 */
export async function* gunzipFile(file: string): AsyncGenerator<Buffer> {
  const handle = await fs.promises.open(file, "r");
  let buf = Buffer.alloc(0); // unread input
  let pos = 0; // file offset of buf[0]
  let eof = false;
  const readMore = async (): Promise<boolean> => {
    if (eof) return false;
    const chunk = Buffer.alloc(INPUT_CHUNK);
    const { bytesRead } = await handle.read(chunk, 0, INPUT_CHUNK, pos + buf.length);
    if (bytesRead === 0) return !(eof = true);
    buf = buf.length > 0 ? Buffer.concat([buf, chunk.subarray(0, bytesRead)]) : chunk.subarray(0, bytesRead);
    return true;
  };
  const skip = (n: number) => {
    buf = buf.subarray(n);
    pos += n;
  };
  try {
    for (let members = 0; ; members++) {
      while (buf.length < 2 && (await readMore()));
      if (buf.length === 0) {
        if (members === 0) throw new GzipDataError("the file is empty");
        return;
      }
      if (members > 0 && buf[0] === 0) {
        // Zero padding after the last member: everything to the end must be zero.
        for (;;) {
          const nonZero = buf.findIndex((b) => b !== 0);
          if (nonZero >= 0) throw new GzipTrailingBytesError(pos + nonZero, await restFrom(pos + nonZero));
          skip(buf.length);
          if (!(await readMore())) return;
        }
      }
      if (!(buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b)) {
        if (members === 0) throw new GzipDataError("it does not start with the gzip magic bytes 1f 8b");
        throw new GzipTrailingBytesError(pos, await restFrom(pos));
      }
      let n: number | undefined;
      while ((n = headerLength(buf)) === undefined)
        if (!(await readMore())) throw new GzipDataError("unexpected end of file (in a gzip header)");
      skip(n);
      let crc = 0;
      let length = 0;
      for await (const out of inflateMember()) {
        crc = zlib.crc32(out, crc);
        length += out.length;
        yield out;
      }
      while (buf.length < 8 && (await readMore()));
      if (buf.length < 8) throw new GzipDataError("unexpected end of file (in the gzip trailer)");
      if (buf.readUInt32LE(0) !== crc >>> 0)
        throw new GzipDataError("CRC-32 mismatch: the decompressed data is not what was compressed");
      if (buf.readUInt32LE(4) !== length % 2 ** 32)
        throw new GzipDataError("length mismatch: the decompressed data is not what was compressed");
      skip(8);
    }
  } finally {
    await handle.close();
  }

  async function restFrom(offset: number): Promise<number> {
    return (await handle.stat()).size - offset;
  }

  // The raw deflate data at the start of buf (and after it); leaves buf at the first byte after it.
  async function* inflateMember(): AsyncGenerator<Buffer> {
    const inflater = zlib.createInflateRaw({ chunkSize: OUTPUT_CHUNK });
    const out: Buffer[] = [];
    let error: Error | undefined;
    let ended = false;
    inflater.on("data", (c: Buffer) => out.push(c));
    inflater.on("error", (e) => (error = e));
    inflater.on("end", () => (ended = true));
    let written = 0;
    try {
      for (;;) {
        if (buf.length === 0 && !(await readMore())) {
          // End of file: finish the inflater; an incomplete deflate stream errors here.
          await new Promise<void>((resolve) => {
            if (ended || error) return resolve();
            for (const event of ["end", "error", "close"]) inflater.once(event, () => resolve());
            inflater.end();
          });
          for (const c of out.splice(0)) yield c;
          if (error) throw new GzipDataError((error as Error).message);
          return;
        }
        const chunk = buf;
        written += chunk.length;
        await new Promise<void>((resolve) => inflater.write(chunk, () => resolve()));
        for (const c of out.splice(0)) yield c;
        if (error) throw new GzipDataError((error as Error).message);
        const unused = written - inflater.bytesWritten;
        if (unused > 0) {
          // The deflate data ended inside this chunk: the rest belongs to the trailer and what follows.
          skip(chunk.length - unused);
          return;
        }
        skip(chunk.length);
      }
    } finally {
      inflater.destroy();
    }
  }
}
