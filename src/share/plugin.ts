/**
 * The share plugin: "Share notebook…" (file browser, notebook tab, palette),
 * "Manage my shares…", and the import flow a share link starts.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  InputDialog,
  Notification,
  showErrorMessage
} from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';

import {
  showImportDialog,
  showManageDialog,
  showMatchDialog,
  showShareDialog
} from './dialogs';
import {
  DAY,
  errorMessage,
  isNotebookPath,
  takePendingToken,
  takeShareToken
} from './format';
import { showShareFolderDialog } from './folder';
import { ShareModel } from './model';
import { acceptKernelMetadata } from './open';
import { ShareCommandIDs } from './types';

const PLUGIN_ID = 'sdcc-lab:share';

/** Where "Share notebook…" was invoked from (the `from` argument). */
type Origin = 'filebrowser' | 'tab' | undefined;

/** Ask, import, open: the recipient's side of a link. */
async function runImport(
  app: JupyterFrontEnd,
  model: ShareModel,
  link: string,
  trans: TranslationBundle,
  docManager: IDocumentManager | null
): Promise<void> {
  let preview;
  try {
    preview = await model.preview(link);
  } catch (error) {
    await showErrorMessage(
      trans.__('Cannot open the shared notebook'),
      errorMessage(error, trans)
    );
    return;
  }
  const choice = await showImportDialog(preview, trans);
  if (choice === 'match') {
    await showMatchDialog(preview, trans);
    return;
  }
  if (choice !== 'import') {
    return;
  }
  try {
    const result = await model.importLink(link);
    if (result.kind === 'folder') {
      // A folder: show it in the file browser; say what each file's import did.
      await app.commands.execute('filebrowser:go-to-path', {
        path: result.path
      });
      const beside = (result.files ?? []).filter(f => f.action === 'copied');
      const text = beside.length
        ? trans.__(
            'Imported %1 from %2. You changed %3, so it was kept; the new version is beside it.',
            result.path,
            result.owner,
            beside.map(f => f.path).join(', ')
          )
        : trans.__('Imported %1 from %2.', result.path, result.owner);
      (beside.length ? Notification.warning : Notification.success)(text, {
        autoClose: beside.length ? false : 5000
      });
      return;
    }
    const wasOpen = !!docManager?.findWidget(result.path);
    const widget = await app.commands.execute('docmanager:open', {
      path: result.path
    });
    // Notebook 7's tree opens a notebook in a new browser tab: no widget here.
    const context =
      widget && !widget.isDisposed
        ? docManager?.contextForWidget(widget)
        : undefined;
    if (context && !wasOpen) {
      // The kernel's metadata must not mark the fresh copy modified (./open).
      void acceptKernelMetadata(context);
    }
    const texts = {
      created: trans.__('Imported %1 from %2.', result.path, result.owner),
      refreshed: trans.__(
        '%1 now holds the latest saved version.',
        result.path
      ),
      unchanged: trans.__(
        '%1 already holds the latest saved version.',
        result.path
      ),
      copied: trans.__(
        'You changed your earlier copy, so it was kept; the new version is in %1.',
        result.path
      )
    };
    const notify =
      result.action === 'copied' ? Notification.warning : Notification.success;
    notify(texts[result.action], {
      autoClose: result.action === 'copied' ? false : 5000
    });
  } catch (error) {
    await showErrorMessage(
      trans.__('The notebook was not imported'),
      errorMessage(error, trans)
    );
  }
}

export const sharePlugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'Share links: share a notebook from the file browser, manage my links, import a shared notebook.',
  autoStart: true,
  optional: [
    ICommandPalette,
    ITranslator,
    ISettingRegistry,
    IDefaultFileBrowser,
    IDocumentManager
  ],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    translator: ITranslator | null,
    settingRegistry: ISettingRegistry | null,
    browser: IDefaultFileBrowser | null,
    docManager: IDocumentManager | null
  ) => {
    const trans = (translator ?? nullTranslator).load('sdcc_lab');
    const model = new ShareModel();
    if (settingRegistry) {
      void Promise.all([settingRegistry.load(PLUGIN_ID), app.restored])
        .then(([settings]) => {
          const read = () => {
            model.defaultExpiry =
              (settings.get('defaultExpiry').composite as number) ?? DAY;
          };
          read();
          settings.changed.connect(read);
        })
        .catch(reason =>
          console.warn('sdcc_lab: share settings not loaded', reason)
        );
    }

    const currentPath = (): string | undefined => {
      const widget = app.shell.currentWidget;
      return widget && docManager
        ? docManager.contextForWidget(widget)?.path
        : undefined;
    };
    const tabPath = (): string | undefined => {
      const node = app.contextMenuHitTest(n => !!n.dataset.id);
      const id = node?.dataset.id;
      if (!id || !docManager) {
        return undefined;
      }
      for (const widget of app.shell.widgets('main')) {
        if (widget.id === id) {
          return docManager.contextForWidget(widget)?.path;
        }
      }
      return undefined;
    };
    const pathFor = (origin: Origin, explicit: unknown): string | undefined => {
      if (typeof explicit === 'string' && explicit) {
        return explicit;
      }
      if (origin === 'filebrowser') {
        return browser?.selectedItems().next()?.value?.path;
      }
      if (origin === 'tab') {
        return tabPath();
      }
      return currentPath();
    };

    app.commands.addCommand(ShareCommandIDs.share, {
      label: trans.__('Share notebook…'),
      caption: trans.__('Create a link to a copy of this notebook'),
      isVisible: args =>
        isNotebookPath(pathFor(args.from as Origin, args.path)),
      isEnabled: args =>
        isNotebookPath(pathFor(args.from as Origin, args.path)),
      execute: async args => {
        const path = pathFor(args.from as Origin, args.path);
        if (!path || !isNotebookPath(path)) {
          Notification.warning(
            trans.__('Open or select a notebook to share it.')
          );
          return;
        }
        await showShareDialog(model, path, trans);
      }
    });
    const folderPath = (args: Record<string, unknown>): string | undefined => {
      if (typeof args.path === 'string' && args.path) {
        return args.path;
      }
      const item = browser?.selectedItems().next()?.value;
      return item?.type === 'directory' ? item.path : undefined;
    };
    app.commands.addCommand(ShareCommandIDs.shareFolder, {
      label: trans.__('Share folder…'),
      caption: trans.__(
        "Create a link to a copy of this folder's notebooks and data files"
      ),
      isVisible: args => !!folderPath(args),
      execute: async args => {
        const path = folderPath(args);
        if (!path) {
          Notification.warning(trans.__('Select a folder to share it.'));
          return;
        }
        await showShareFolderDialog(model, path, trans);
      }
    });
    app.commands.addCommand(ShareCommandIDs.manage, {
      label: trans.__('Manage my shares…'),
      caption: trans.__(
        'My live share links, their expiry and opens; revoke them'
      ),
      execute: () => showManageDialog(model, trans)
    });
    app.commands.addCommand(ShareCommandIDs.importLink, {
      label: trans.__('Import from a share link…'),
      execute: async args => {
        let link = typeof args.link === 'string' ? args.link : '';
        if (!link) {
          const answer = await InputDialog.getText({
            title: trans.__('Import a shared notebook'),
            label: trans.__('Share link'),
            okLabel: trans.__('Continue'),
            cancelLabel: trans.__('Cancel')
          });
          link = answer.button.accept ? (answer.value ?? '').trim() : '';
        }
        if (link) {
          await runImport(app, model, link, trans, docManager);
        }
      }
    });
    for (const command of [
      ShareCommandIDs.share,
      ShareCommandIDs.manage,
      ShareCommandIDs.importLink
    ]) {
      palette?.addItem({ command, category: 'sdcc_lab' });
    }

    // A share link leads here with #sdcc-share=TOKEN (or left the token in this
    // tab's sessionStorage, if the hub's spawn form dropped the fragment on the
    // way): take it out of the address bar (a reload does not ask again), then
    // ask and import. The import posts the token to the server extension.
    const { token, cleaned } = takeShareToken(window.location.href);
    if (token) {
      window.history.replaceState(window.history.state, '', cleaned);
    }
    let storage: Storage | null = null;
    try {
      storage = window.sessionStorage;
    } catch {
      storage = null;
    }
    const pending = takePendingToken(
      storage,
      PageConfig.getOption('hubUser'),
      Date.now()
    );
    const link = token ?? pending;
    if (link) {
      void app.restored.then(() =>
        app.commands.execute(ShareCommandIDs.importLink, { link })
      );
    }
  }
};
