/**
 * "Share folder…": one link to a folder's notebooks and data files. The dialog
 * says the site's caps before anything is sent, and after creating the link
 * what travels (files, sizes) and what was left out (hidden files, checkpoints,
 * links leading out of the folder). Values are put in the page as text only.
 */
import { Clipboard, Dialog, Notification } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { errorText } from '../api';
import { audienceField, audienceSummary } from './audience';
import { showDialogKeepingFocus } from '../focus';
import { gridTable, labelTable } from '../table';
import {
  absoluteLink,
  environmentRows,
  expiryChoices,
  formatWhen
} from './format';
import { ShareModel } from './model';
import { fileRows, humanSize } from './sizes';

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  className?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) {
    node.textContent = text;
  }
  if (className) {
    node.className = className;
  }
  return node;
}

export async function showShareFolderDialog(
  model: ShareModel,
  path: string,
  trans: TranslationBundle
): Promise<void> {
  const body = new Widget();
  body.addClass('jp-sdcc-ShareDialog');
  body.addClass('jp-sdcc-ShareFolderDialog');
  const node = body.node;
  node.appendChild(el('p', trans.__('Folder: %1', path), 'jp-sdcc-ShareName'));
  try {
    await model.refresh();
  } catch {
    // the create call reports a missing service clearly
  }
  const caps = el('p', undefined, 'jp-sdcc-FolderCaps');
  caps.textContent =
    model.maxFolderFiles !== undefined && model.maxFolderSize !== undefined
      ? trans.__(
          'Its notebooks and data files travel as one share: at most %1 files and %2 in all. Hidden files and checkpoints are left out; links leading out of the folder are not followed.',
          String(model.maxFolderFiles),
          humanSize(model.maxFolderSize)
        )
      : trans.__(
          'Its notebooks and data files travel as one share. Hidden files and checkpoints are left out; links leading out of the folder are not followed.'
        );
  node.appendChild(caps);

  const expiryLabel = el('label', trans.__('Link valid for') + ' ');
  const select = el('select');
  select.setAttribute('aria-label', trans.__('Link valid for'));
  expiryLabel.appendChild(select);
  node.appendChild(expiryLabel);
  for (const [seconds, label] of expiryChoices(model.maxExpiresIn)) {
    const option = el('option', trans.__(label));
    option.value = String(seconds);
    option.selected = seconds === model.defaultExpiry;
    select.appendChild(option);
  }

  const audience = audienceField(trans);
  node.appendChild(audience.node);

  const create = el(
    'button',
    trans.__('Create link'),
    'jp-Button jp-mod-styled jp-mod-accept'
  );
  node.appendChild(create);
  const result = el('div', undefined, 'jp-sdcc-ShareResult');
  node.appendChild(result);

  create.onclick = async () => {
    const who = audience.value();
    if (typeof who === 'string') {
      result.replaceChildren(el('p', who, 'jp-sdcc-Problem'));
      return;
    }
    create.disabled = true;
    result.replaceChildren(el('p', trans.__('Creating the link…')));
    try {
      const share = await model.create(path, Number(select.value), who);
      const link = absoluteLink(share.url, window.location.href);
      const input = el('input', undefined, 'jp-mod-styled jp-sdcc-ShareLink');
      input.readOnly = true;
      input.style.width = '100%';
      input.value = link;
      input.setAttribute('aria-label', trans.__('Share link'));
      const copy = el(
        'button',
        trans.__('Copy link'),
        'jp-Button jp-mod-styled'
      );
      copy.onclick = () => {
        Clipboard.copyToSystem(link);
        Notification.success(trans.__('Link copied'), { autoClose: 2000 });
      };
      const files = share.files ?? [];
      const leftOut = share.left_out ?? [];
      const parts: HTMLElement[] = [
        input,
        copy,
        el('p', trans.__('Valid until %1.', formatWhen(share.expires_at))),
        el('p', audienceSummary(who, trans)),
        el('p', trans._n('%1 file travels:', '%1 files travel:', files.length)),
        gridTable([trans.__('File'), trans.__('Size')], fileRows(files)).table
      ];
      if (leftOut.length) {
        parts.push(
          el('p', trans.__('Left out:'), 'jp-sdcc-FolderLeftOut'),
          gridTable(
            [trans.__('Path'), trans.__('Why')],
            leftOut.map(f => [f.path, trans.__(f.reason)])
          ).table
        );
      }
      parts.push(
        el('p', trans.__('The environment that travels with it:')),
        labelTable([
          ...(share.environment.kernels ?? []).map(
            k =>
              [trans.__('Kernel'), String(k.display_name || k.name)] as [
                string,
                string
              ]
          ),
          ...environmentRows(share.environment, trans)
        ]),
        el(
          'p',
          trans.__(
            'Whoever opens the link gets a copy of the last saved version of each file, in their own session. Each save of a file in the folder updates what they get.'
          )
        )
      );
      result.replaceChildren(...parts);
      input.select();
    } catch (error) {
      create.disabled = false;
      result.replaceChildren(
        el(
          'p',
          trans.__('The link was not created: %1', errorText(error)),
          'jp-sdcc-Problem'
        )
      );
    }
  };

  await showDialogKeepingFocus({
    title: trans.__('Share folder'),
    body,
    buttons: [Dialog.okButton({ label: trans.__('Close') })]
  });
}
