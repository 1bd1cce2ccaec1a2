/**
 * The session plugin: "About this Session…", and a warning at load when the
 * server extension does not answer.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { errorText } from '../api';
import { CommandIDs } from '../tokens';
import { showSessionDialog } from './dialog';
import { SessionModel } from './model';

const PLUGIN_ID = 'sdcc-lab:plugin';

export const sessionPlugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'Shows where this session runs and checks that the sdcc_lab server extension answers.',
  autoStart: true,
  optional: [ICommandPalette, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    translator: ITranslator | null
  ) => {
    const trans = (translator ?? nullTranslator).load('sdcc_lab');
    const model = new SessionModel();

    app.commands.addCommand(CommandIDs.sessionInfo, {
      label: trans.__('About this Session…'),
      caption: trans.__('Where this JupyterLab runs and with which options'),
      execute: async () => {
        try {
          await showSessionDialog(await model.info(), trans);
        } catch (error) {
          Notification.error(
            trans.__('Could not read this session: %1', errorText(error))
          );
        }
      }
    });
    palette?.addItem({ command: CommandIDs.sessionInfo, category: 'sdcc_lab' });

    // Say at once, and how to fix it, when the server half is missing.
    model.info().catch(error => {
      Notification.warning(
        trans.__(
          'The sdcc_lab server extension did not answer (%1). Check that the sdcc_lab package is installed in the Python environment of this server and enabled (jupyter server extension list).',
          errorText(error)
        ),
        { autoClose: false }
      );
    });
  }
};
