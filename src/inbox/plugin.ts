/**
 * "Shared with me" in the left sidebar: shares addressed to me or my groups and
 * links I opened, each with its state for me; one click imports or refreshes
 * (the same import as a pasted link: an edited copy is never overwritten).
 * New items are announced once by a notification.
 *
 * Notebook 7's tree and notebook views have a left side panel but no tab bar to
 * open it: View > Show Shared with Me (schema/inbox.json) and the command palette
 * show it there, as the notification's Show does everywhere.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { errorMessage } from '../share/format';
import { InboxModel } from './model';
import { InboxPanel } from './panel';
import { IInboxItem, InboxCommandIDs } from './types';

const POLL_MS = 30_000;

export const inboxPlugin: JupyterFrontEndPlugin<void> = {
  id: 'sdcc-lab:inbox',
  description: 'Shared with me: what others shared with you, and its state.',
  autoStart: true,
  optional: [ITranslator, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    translator: ITranslator | null,
    palette: ICommandPalette | null
  ) => {
    const trans = (translator ?? nullTranslator).load('sdcc_lab');
    const model = new InboxModel({
      user: PageConfig.getOption('hubUser') || ''
    });
    const importItem = async (item: IInboxItem): Promise<void> => {
      try {
        const result = await model.importItem(item);
        if (item.kind === 'folder') {
          await app.commands.execute('filebrowser:go-to-path', {
            path: result.path
          });
        } else {
          await app.commands.execute('docmanager:open', { path: result.path });
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
        (result.action === 'copied'
          ? Notification.warning
          : Notification.success)(texts[result.action] ?? result.path, {
          autoClose: 5000
        });
      } catch (error) {
        Notification.error(errorMessage(error, trans));
      }
      await model.refresh();
    };
    const panel = new InboxPanel(model, trans, importItem);
    app.shell.add(panel, 'left', { rank: 700 });
    app.commands.addCommand(InboxCommandIDs.open, {
      label: trans.__('Show Shared with Me'),
      caption: trans.__('Notebooks and folders others shared with you'),
      execute: () => app.shell.activateById(panel.id)
    });
    palette?.addItem({ command: InboxCommandIDs.open, category: 'sdcc_lab' });
    model.arrived.connect((_, items) => {
      for (const item of items) {
        Notification.info(
          trans.__('%1 shared %2 with you.', item.owner, item.name),
          {
            autoClose: false,
            actions: [
              {
                label: trans.__('Show'),
                callback: () => void app.commands.execute(InboxCommandIDs.open)
              }
            ]
          }
        );
      }
    });
    void app.restored.then(() => model.refresh());
    window.setInterval(() => {
      if (!document.hidden) {
        void model.refresh();
      }
    }, POLL_MS);
  }
};
