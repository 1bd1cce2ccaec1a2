/**
 * What to do to restore the portal workspace's kernels: pure, so jest tests it.
 *
 * JupyterLab reopens the notebooks of the workspace itself (its layout
 * restorer, from the workspace the hub opened); a notebook then starts the
 * kernel its file names. The record says which kernel each one ran, which can
 * differ (a kernel changed and not saved, a notebook saved without one): this
 * module decides, per notebook, to keep what runs, start the recorded kernel,
 * or open the notebook when the layout lost it.
 */

/** A notebook open in the workspace and the kernel it ran. */
export interface IKernelRecord {
  path: string;
  kernel: string;
}

/** `GET sdcc-lab/api/workspace` */
export interface IWorkspaceState {
  available: boolean;
  reason: string | null;
  workspace: string | null;
  restore: boolean;
  /** When the server started: the restore runs once per start. */
  started: string;
  saved: string | null;
  kernels: IKernelRecord[];
}

/** One notebook's step: its kernel already runs, start it, or open the notebook with it. */
export type RestoreStep =
  | { action: 'keep'; path: string; kernel: string }
  | { action: 'start'; path: string; kernel: string }
  | { action: 'open'; path: string; kernel: string | null }
  | { action: 'skip'; path: string; kernel: string; why: 'no-spec' };

/**
 * Whether this page restores: the server keeps a workspace, this page shows it,
 * the user's switch is on, and this server start was not restored yet (a reload
 * of the page later must not restart kernels the user shut down).
 */
export function shouldRestore(
  state: IWorkspaceState,
  pageWorkspace: string,
  enabled: boolean,
  restoredStart: string | null
): boolean {
  return (
    state.available &&
    enabled &&
    state.workspace !== null &&
    state.workspace === pageWorkspace &&
    state.kernels.length > 0 &&
    restoredStart !== state.started
  );
}

/**
 * The steps for the recorded notebooks. `running` maps the path of each open
 * notebook to the kernel it runs now (`null`: none yet); a path not in it is
 * not open. `specs` are the kernels this server can start: a kernel of another
 * environment (the options changed) is left to JupyterLab's own choice.
 */
export function restorePlan(
  kernels: IKernelRecord[],
  running: ReadonlyMap<string, string | null>,
  specs: ReadonlySet<string>
): RestoreStep[] {
  return kernels.map(({ path, kernel }): RestoreStep => {
    const has = specs.has(kernel);
    if (!running.has(path)) {
      return { action: 'open', path, kernel: has ? kernel : null };
    }
    if (running.get(path) === kernel) {
      return { action: 'keep', path, kernel };
    }
    if (!has) {
      return { action: 'skip', path, kernel, why: 'no-spec' };
    }
    return { action: 'start', path, kernel };
  });
}

/** What the steps need of JupyterLab (the plugin passes the document manager's). */
export interface IRestoreOps {
  open(path: string, kernel: string | null): Promise<void>;
  start(path: string, kernel: string): Promise<void>;
}

/** Run the steps, each on its own; the paths that failed, with why. */
export async function runPlan(
  steps: RestoreStep[],
  ops: IRestoreOps
): Promise<{ path: string; error: string }[]> {
  const failed: { path: string; error: string }[] = [];
  await Promise.all(
    steps.map(async step => {
      try {
        if (step.action === 'open') {
          await ops.open(step.path, step.kernel);
        } else if (step.action === 'start') {
          await ops.start(step.path, step.kernel);
        }
      } catch (error) {
        failed.push({
          path: step.path,
          error: error instanceof Error ? error.message : String(error)
        });
      }
    })
  );
  return failed;
}

/** The browser's key for "this server start was restored", per server. */
export function restoredKey(baseUrl: string): string {
  return `sdcc-lab:workspace-restored:${baseUrl}`;
}
