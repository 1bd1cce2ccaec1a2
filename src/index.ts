/**
 * sdcc_lab's JupyterLab plugins. This file only wires them together.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Dialog, ICommandPalette, Notification, showDialog } from '@jupyterlab/apputils';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { requestAPI } from './api';
import { resourcesPlugin } from './resources/plugin';
import { sharePlugin } from './share/plugin';
import { describeSession } from './session';
import { CommandIDs, IInfo } from './tokens';

const PLUGIN_ID = 'sdcc-lab:plugin';

/** A table of `[label, value]` rows, built with text nodes only (no HTML from data). */
function rowsToTable(rows: [string, string][]): HTMLTableElement {
  const table = document.createElement('table');
  table.className = 'jp-sdcc-SessionTable';
  for (const [label, value] of rows) {
    const tr = table.insertRow();
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = label;
    tr.appendChild(th);
    tr.insertCell().textContent = value;
  }
  return table;
}

const sessionPlugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Shows where this session runs and checks that the sdcc_lab server extension answers.',
  autoStart: true,
  optional: [ICommandPalette, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    translator: ITranslator | null
  ) => {
    const trans = (translator ?? nullTranslator).load('sdcc_lab');

    app.commands.addCommand(CommandIDs.sessionInfo, {
      label: trans.__('About this Session…'),
      caption: trans.__('Where this JupyterLab runs and with which options'),
      execute: async () => {
        try {
          const info = await requestAPI<IInfo>('info');
          const body = new Widget();
          body.node.appendChild(
            rowsToTable([
              [trans.__('User'), info.user],
              ...describeSession(info.session).map(
                ([label, value]): [string, string] => [trans.__(label), value]
              ),
              [trans.__('sdcc_lab version'), info.version]
            ])
          );
          await showDialog({
            title: trans.__('This session'),
            body,
            buttons: [Dialog.okButton({ label: trans.__('Close') })]
          });
        } catch (error) {
          Notification.error(
            trans.__('Could not read this session: %1', (error as Error).message)
          );
        }
      }
    });
    palette?.addItem({ command: CommandIDs.sessionInfo, category: 'sdcc_lab' });

    // Say at once, and how to fix it, when the server half is missing.
    requestAPI<IInfo>('info').catch(error => {
      Notification.warning(
        trans.__(
          'The sdcc_lab server extension did not answer (%1). Check that the sdcc_lab package is installed in the Python environment of this server and enabled (jupyter server extension list).',
          (error as Error).message
        ),
        { autoClose: false }
      );
    });
  }
};

export default [sessionPlugin, sharePlugin, resourcesPlugin];
