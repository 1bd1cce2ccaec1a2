/**
 * The workspace plugin: "Start again where you were".
 *
 * How the workspace comes back (why this way): the hub opens every session at
 * `/lab/workspaces/sdcc-lab` (FormSpawner.restore_workspace). JupyterLab loads
 * that workspace before any plugin of ours runs and reopens its documents in
 * their places; it writes every change of the layout back into it, in the
 * user's home. Restoring the layout from here instead would mean a second
 * layout pass (or a reload) after JupyterLab's own. What the layout lacks is
 * each notebook's kernel: the server keeps it (`GET sdcc-lab/api/workspace`)
 * and this plugin starts it, once per server start, after JupyterLab's own
 * restore. The user's switch (setting `restore`) is sent to the server, which
 * applies it at the next start (off: the session opens blank).
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';

import { errorText } from '../api';
import { fetchWorkspace, putRestore } from './api';
import {
  IWorkspaceState,
  restoredKey,
  restorePlan,
  runPlan,
  shouldRestore
} from './restore';

const PLUGIN_ID = 'sdcc-lab:workspace';
const FACTORY = 'Notebook';

export const workspacePlugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    "Reopens the last session's notebooks with their kernels (the portal's workspace).",
  autoStart: true,
  requires: [IDocumentManager],
  optional: [ISettingRegistry, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    docManager: IDocumentManager,
    settingRegistry: ISettingRegistry | null,
    translator: ITranslator | null
  ) => {
    const trans = (translator ?? nullTranslator).load('sdcc_lab');
    // Not awaited: app.restored waits for every plugin's activation.
    void (async () => {
      let state: IWorkspaceState;
      try {
        state = await fetchWorkspace();
      } catch (error) {
        // The session plugin already says when the server extension does not answer.
        console.warn('sdcc_lab: no workspace record', error);
        return;
      }
      if (!state.available) {
        return;
      }
      let enabled = true;
      if (settingRegistry) {
        try {
          const settings = await settingRegistry.load(PLUGIN_ID);
          const read = () => settings.get('restore').composite !== false;
          enabled = read();
          const send = async () => {
            if (state.restore !== enabled) {
              state = {
                ...(await putRestore(enabled)),
                started: state.started
              };
            }
          };
          settings.changed.connect(() => {
            enabled = read();
            send().catch(error =>
              Notification.error(
                trans.__(
                  'Could not keep the workspace setting: %1',
                  errorText(error)
                )
              )
            );
          });
          await send();
        } catch (error) {
          console.warn('sdcc_lab: workspace setting', error);
        }
      }
      await app.restored;
      const key = restoredKey(PageConfig.getBaseUrl());
      const page = PageConfig.getOption('workspace');
      if (!shouldRestore(state, page, enabled, localStorage.getItem(key))) {
        return;
      }
      localStorage.setItem(key, state.started);
      await restoreKernels(app, docManager, state, trans);
    })();
  }
};

async function restoreKernels(
  app: JupyterFrontEnd,
  docManager: IDocumentManager,
  state: IWorkspaceState,
  trans: TranslationBundle
): Promise<void> {
  const { kernelspecs } = app.serviceManager;
  await kernelspecs.ready;
  const specs = new Set(Object.keys(kernelspecs.specs?.kernelspecs ?? {}));
  const running = new Map<string, string | null>();
  for (const { path } of state.kernels) {
    const widget = docManager.findWidget(path, FACTORY);
    if (!widget) {
      continue;
    }
    const session = widget.context.sessionContext;
    await session.ready;
    running.set(path, session.session?.kernel?.name ?? null);
  }
  const failed = await runPlan(restorePlan(state.kernels, running, specs), {
    open: async (path, kernel) => {
      const widget = docManager.openOrReveal(
        path,
        FACTORY,
        kernel ? { name: kernel } : undefined
      );
      if (!widget) {
        throw new Error(trans.__('it could not be opened'));
      }
      await widget.context.ready;
    },
    start: async (path, kernel) => {
      const widget = docManager.findWidget(path, FACTORY);
      await widget?.context.sessionContext.changeKernel({ name: kernel });
    }
  });
  for (const { path, error } of failed) {
    Notification.warning(
      trans.__('Could not reopen %1 as it was: %2', path, error)
    );
  }
}
