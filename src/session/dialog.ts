/**
 * The "About this Session…" dialog: renders what the session model read.
 */
import { Dialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { showDialogKeepingFocus } from '../focus';
import { labelTable } from '../table';
import { IInfo } from '../tokens';
import { describeSession } from './format';

/** The `[label, value]` rows of the dialog, translated. */
export function infoRows(
  info: IInfo,
  trans: TranslationBundle
): [string, string][] {
  return [
    [trans.__('User'), info.user],
    ...describeSession(info.session, trans),
    [trans.__('sdcc_lab version'), info.version]
  ];
}

export async function showSessionDialog(
  info: IInfo,
  trans: TranslationBundle
): Promise<void> {
  const body = new Widget();
  body.node.appendChild(labelTable(infoRows(info, trans)));
  await showDialogKeepingFocus({
    title: trans.__('This session'),
    body,
    buttons: [Dialog.okButton({ label: trans.__('Close') })]
  });
}
