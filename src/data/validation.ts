// Validation of loaded records. Every rejected record is reported with its file, line, field and reason;
// nothing is dropped silently. Two modes:
//   strict  — throw a DataValidationError at the first bad record (message names file, line, field);
//   collect — keep the good records and return a report of what was rejected and why, with counts.

export type IssueReason =
  | "invalid-json"
  | "missing-field"
  | "wrong-type"
  | "empty-text"
  | "identical"
  | "label-not-boolean"
  | "prompt-not-prefix"
  | "bad-row"
  /** Bytes that are not valid UTF-8 (they would have been read as U+FFFD). */
  | "invalid-encoding"
  /** A JSON object names one key twice (JSON.parse would keep only the last value). */
  | "duplicate-key"
  /** The file ends early or is damaged (e.g. truncated gzip); records before the damage are kept in collect mode. */
  | "truncated-file"
  /** Content after the end of a JSON array, or bytes after the end of a file's gzip data. */
  | "trailing-content"
  /** A line longer than the line reader holds (src/data/read.ts readLimits); it is skipped, not read. */
  | "line-too-long";

export interface RecordIssue {
  file: string;
  /** 1-based line where the record starts. */
  line: number;
  /** The offending field, when there is one. */
  field?: string;
  reason: IssueReason;
  message: string;
}

export type ValidationMode = "strict" | "collect";

export interface ValidationReport {
  files: string[];
  /** Records seen (accepted + rejected); blank lines are not records and are counted separately. */
  records: number;
  accepted: number;
  rejected: number;
  blankLines: number;
  /** Rejections per reason. */
  counts: Partial<Record<IssueReason, number>>;
  issues: RecordIssue[];
}

export function formatIssue(issue: RecordIssue): string {
  const field = issue.field !== undefined ? ` field "${issue.field}"` : "";
  return `${issue.file}:${issue.line}:${field} ${issue.reason}: ${issue.message}`;
}

export class DataValidationError extends Error {
  constructor(readonly issue: RecordIssue) {
    super(formatIssue(issue));
    this.name = "DataValidationError";
  }
}

/** Thrown inside a record parser; the collector turns it into an issue with the file and line. */
export class RecordError extends Error {
  constructor(
    readonly reason: IssueReason,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = "RecordError";
  }
}

export function emptyReport(): ValidationReport {
  return { files: [], records: 0, accepted: 0, rejected: 0, blankLines: 0, counts: {}, issues: [] };
}

/** Accumulates accepted records and issues for one load; `strict` throws at the first issue. */
export class Collector<T> {
  readonly records: T[] = [];
  readonly report: ValidationReport = emptyReport();

  constructor(readonly mode: ValidationMode) {}

  addFile(file: string): void {
    if (!this.report.files.includes(file)) this.report.files.push(file);
  }

  accept(record: T): void {
    this.report.records++;
    this.report.accepted++;
    this.records.push(record);
  }

  reject(issue: RecordIssue): void {
    this.report.records++;
    this.report.rejected++;
    this.report.counts[issue.reason] = (this.report.counts[issue.reason] ?? 0) + 1;
    this.report.issues.push(issue);
    if (this.mode === "strict") throw new DataValidationError(issue);
  }

  blank(): void {
    this.report.blankLines++;
  }

  /** Run `parse`, accepting its result or turning a RecordError into an issue at file:line. */
  attempt(file: string, line: number, parse: () => T): void {
    let record: T;
    try {
      record = parse();
    } catch (err) {
      if (err instanceof RecordError) {
        this.reject({ file, line, field: err.field, reason: err.reason, message: err.message });
        return;
      }
      throw err;
    }
    this.accept(record);
  }
}

/** Merge several reports (e.g. one per file) into one. */
export function mergeReports(reports: ValidationReport[]): ValidationReport {
  const out = emptyReport();
  for (const r of reports) {
    for (const f of r.files) if (!out.files.includes(f)) out.files.push(f);
    out.records += r.records;
    out.accepted += r.accepted;
    out.rejected += r.rejected;
    out.blankLines += r.blankLines;
    for (const [k, v] of Object.entries(r.counts) as [IssueReason, number][]) out.counts[k] = (out.counts[k] ?? 0) + v;
    out.issues.push(...r.issues);
  }
  return out;
}

/** One-paragraph human summary: counts per reason and the first few issues. */
export function summarizeReport(report: ValidationReport, maxIssues = 5): string {
  const reasons = Object.entries(report.counts)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  const head = `${report.accepted} accepted, ${report.rejected} rejected${reasons ? ` (${reasons})` : ""}, ${report.blankLines} blank lines, from ${report.files.length} file(s)`;
  const lines = report.issues.slice(0, maxIssues).map((i) => "  " + formatIssue(i));
  const more = report.issues.length > maxIssues ? [`  … and ${report.issues.length - maxIssues} more`] : [];
  return [head, ...lines, ...more].join("\n");
}
