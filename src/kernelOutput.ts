// The one way library code talks to a Jupyter front end: a display message (display_data, or
// update_display_data for a display_id shown before) sent through tslab's kernel. At the bottom layer so
// trainers (progress) and plots (figures, tables) both use it; outside a kernel every call returns false.

export type MimeBundle = Record<string, string | object>;

interface TslabJupyter {
  lastWriteDisplayData: ((d: object, update: boolean) => void) | null;
}

/** tslab's jupyter module when this process is a tslab kernel, else undefined. */
function tslabJupyter(): TslabJupyter | undefined {
  try {
    return require("tslab/dist/jupyter") as TslabJupyter;
  } catch {
    return undefined;
  }
}

/** True while a kernel cell runs (a display message would reach its notebook). */
export function inKernelCell(): boolean {
  return Boolean(tslabJupyter()?.lastWriteDisplayData);
}

/**
 * Send a display message if we are inside a tslab kernel; returns false elsewhere. With `displayId` the
 * output can later be replaced in place (`update: true` sends update_display_data for that id).
 */
export function sendToKernel(bundle: MimeBundle, opts: { displayId?: string; update?: boolean } = {}): boolean {
  const jupyter = tslabJupyter();
  if (!jupyter || !jupyter.lastWriteDisplayData) return false;
  const transient = opts.displayId ? { display_id: opts.displayId } : {};
  jupyter.lastWriteDisplayData({ data: bundle, metadata: {}, transient }, Boolean(opts.update));
  return true;
}
