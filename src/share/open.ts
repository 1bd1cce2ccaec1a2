/**
 * An imported notebook opens unmodified.
 *
 * A notebook's metadata describes its kernel (`kernelspec`, `language_info`),
 * and JupyterLab writes both itself, marking the document modified: on
 * loading, a notebook without them gets empty ones (NotebookModel's
 * `_ensureMetadata`), and when the kernel connects, its own description
 * (NotebookPanel's kernel-change handler). An imported copy carries its
 * sender's kernel description, or none when the sender never ran it, so it
 * showed as modified before the user touched it, asked to be saved on close,
 * and JupyterLab's auto-save rewrote it — after which the next import of the
 * link could no longer refresh it in place (it was "changed since imported")
 * and went beside it as `name-1.ipynb`.
 *
 * So once the kernel has connected and written its description, a copy that
 * differs from what was loaded in nothing else is marked unmodified again.
 * Only for a copy the import has just opened: one the user already had open
 * may hold their unsaved changes (the share plugin checks).
 */

/** What of an opened notebook this reads (a DocumentRegistry.Context has it). */
export interface IOpenedNotebook {
  ready: Promise<void>;
  model: { dirty: boolean; toJSON(): unknown };
  sessionContext: {
    ready: Promise<void>;
    session: {
      kernel: { info: Promise<unknown>; spec: Promise<unknown> } | null;
    } | null;
  };
}

/** Metadata keys JupyterLab sets from the kernel it connects to. */
export const KERNEL_METADATA = ['kernelspec', 'language_info'];

/** The notebook as text, without what its kernel writes on connecting. */
export function withoutKernelMetadata(notebook: unknown): string {
  if (typeof notebook !== 'object' || notebook === null) {
    return JSON.stringify(notebook);
  }
  const copy = { ...(notebook as { [key: string]: unknown }) };
  const metadata = copy.metadata;
  if (typeof metadata === 'object' && metadata !== null) {
    const rest = { ...(metadata as { [key: string]: unknown }) };
    for (const key of KERNEL_METADATA) {
      delete rest[key];
    }
    copy.metadata = rest;
  }
  return JSON.stringify(copy);
}

/** How long to wait for the kernel before leaving the document as it is (ms). */
export const KERNEL_WAIT_MS = 120 * 1000;

/**
 * Wait until a just-opened notebook's kernel has connected and written its
 * metadata; then, if nothing else changed since it was loaded, mark it
 * unmodified. True when it did.
 */
export async function acceptKernelMetadata(
  doc: IOpenedNotebook,
  waitMs: number = KERNEL_WAIT_MS
): Promise<boolean> {
  await doc.ready;
  const opened = withoutKernelMetadata(doc.model.toJSON());
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>(resolve => {
    timer = setTimeout(() => resolve(false), waitMs);
  });
  const connected = (async (): Promise<true> => {
    await doc.sessionContext.ready;
    const kernel = doc.sessionContext.session?.kernel;
    if (kernel) {
      // The panel's handlers of these same promises were attached first, so
      // they have written the metadata when these resolve here.
      await Promise.all([kernel.info, kernel.spec]);
    }
    await new Promise(resolve => setTimeout(resolve, 0));
    return true;
  })();
  const settled = await Promise.race([connected, timeout]);
  clearTimeout(timer);
  if (
    settled &&
    doc.model.dirty &&
    withoutKernelMetadata(doc.model.toJSON()) === opened
  ) {
    doc.model.dirty = false;
    return true;
  }
  return false;
}
