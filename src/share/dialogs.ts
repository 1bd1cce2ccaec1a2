/**
 * The share dialogs: they render what the share model holds and call its
 * methods. Every value from a file name, a user or the server is put into the
 * page as text (`textContent`), never as HTML.
 */
import {
  Clipboard,
  Dialog,
  Notification,
  showErrorMessage
} from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { showDialogKeepingFocus } from '../focus';
import { fetchAccess } from '../inbox/api';
import { audienceField, audienceSummary } from './audience';
import { errorText } from '../api';
import { gridTable, labelTable } from '../table';
import {
  absoluteLink,
  environmentRows,
  expiryChoices,
  formatWhen,
  mismatchLines
} from './format';
import { ShareModel } from './model';
import { IImportPreview } from './types';

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

/**
 * "Share notebook…": choose an expiry, create the link, copy it.
 */
export async function showShareDialog(
  model: ShareModel,
  path: string,
  trans: TranslationBundle
): Promise<void> {
  const body = new Widget();
  body.addClass('jp-sdcc-ShareDialog');
  const node = body.node;
  node.appendChild(
    el('p', trans.__('Notebook: %1', path), 'jp-sdcc-ShareName')
  );

  const expiryLabel = el('label', trans.__('Link valid for') + ' ');
  const select = el('select');
  select.setAttribute('aria-label', trans.__('Link valid for'));
  expiryLabel.appendChild(select);
  node.appendChild(expiryLabel);

  try {
    await model.refresh();
  } catch {
    // the create call reports a missing service clearly
  }
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
      result.replaceChildren(
        input,
        copy,
        el('p', trans.__('Valid until %1.', formatWhen(share.expires_at))),
        el('p', audienceSummary(who, trans)),
        el('p', trans.__('The environment that travels with it:')),
        labelTable(environmentRows(share.environment, trans)),
        el(
          'p',
          trans.__(
            'Whoever opens the link gets a copy of the last saved version, in their own session. Save to update what they get.'
          )
        )
      );
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

  const answer = await showDialogKeepingFocus({
    title: trans.__('Share notebook'),
    body,
    buttons: [
      Dialog.createButton({
        label: trans.__('Manage my shares'),
        displayType: 'default'
      }),
      Dialog.okButton({ label: trans.__('Close') })
    ]
  });
  if (answer.button.label === trans.__('Manage my shares')) {
    await showManageDialog(model, trans);
  }
}

/**
 * "Manage my shares": my live links, their expiry and opens, a Revoke button each.
 */
export async function showManageDialog(
  model: ShareModel,
  trans: TranslationBundle
): Promise<void> {
  try {
    await model.refresh();
  } catch (error) {
    await showErrorMessage(
      trans.__('Could not list your share links'),
      errorText(error)
    );
    return;
  }
  const body = new Widget();
  body.addClass('jp-sdcc-ManageShares');
  // JupyterLab's dialog sends Tab from its last button to the first focusable
  // element it found when it opened; the renders below replace the table's
  // buttons, so that element must be one that stays: the body itself.
  body.node.tabIndex = -1;
  // Links being revoked right now: their buttons stay disabled across renders.
  const revoking = new Set<string>();
  // A Revoke button pressed from the keyboard goes with its row: the focus
  // then moves to the next Revoke button (or the dialog's Close button), never
  // to the page, where Escape and Tab would no longer reach the dialog.
  let refocus = false;
  const keepFocus = (): void => {
    if (!refocus || body.node.contains(document.activeElement)) {
      return;
    }
    const next =
      body.node.querySelector<HTMLElement>('button:not(:disabled)') ??
      body.node
        .closest('.jp-Dialog')
        ?.querySelector<HTMLElement>('.jp-Dialog-button.jp-mod-accept');
    next?.focus();
  };
  // Who imported which version, per link (GET shares/{id}/access), read once.
  const used = new Map<string, string>();
  const usedBy = (id: string): string => used.get(id) ?? '…';
  const readAccess = async (): Promise<void> => {
    await Promise.all(
      model.shares.map(async share => {
        try {
          const log = await fetchAccess(share.id);
          const last = new Map<string, number>();
          log.accesses.forEach(a => last.set(a.user, a.version));
          used.set(
            share.id,
            last.size
              ? [...last]
                  .map(([user, version]) =>
                    version < log.version
                      ? trans.__('%1 (version %2, older)', user, version)
                      : trans.__('%1 (version %2)', user, version)
                  )
                  .join(', ')
              : trans.__('nobody yet')
          );
        } catch {
          used.set(share.id, '—');
        }
      })
    );
    render();
  };
  const render = (): void => {
    if (model.shares.length === 0) {
      body.node.replaceChildren(
        el('p', trans.__('You have no live share links.'))
      );
      keepFocus();
      return;
    }
    const rows = model.shares.map(share => {
      const revoke = el(
        'button',
        trans.__('Revoke'),
        'jp-Button jp-mod-styled jp-mod-warn'
      );
      revoke.setAttribute(
        'aria-label',
        trans.__('Revoke the link to %1', share.path)
      );
      revoke.disabled = revoking.has(share.id);
      revoke.onclick = async () => {
        // Until the revoke is over: a render in between (the access figures
        // arriving) must not use up the refocus the row's removal needs.
        refocus ||= revoke === document.activeElement;
        revoking.add(share.id);
        revoke.disabled = true;
        try {
          await model.revoke(share.id);
          Notification.info(
            trans.__('The link to %1 no longer works.', share.path),
            { autoClose: 3000 }
          );
        } catch (error) {
          revoke.disabled = false;
          Notification.error(
            trans.__('Could not revoke the link: %1', errorText(error))
          );
        } finally {
          revoking.delete(share.id);
          keepFocus();
          refocus &&= revoking.size > 0;
        }
      };
      return [
        share.path,
        formatWhen(share.expires_at),
        String(share.opens),
        usedBy(share.id),
        revoke
      ];
    });
    const { table } = gridTable(
      [
        trans.__('Notebook'),
        trans.__('Expires'),
        trans.__('Opens'),
        trans.__('Imported by'),
        ''
      ],
      rows
    );
    // The Revoke column's header, for screen readers (its buttons say the rest).
    table.tHead?.rows[0].lastElementChild?.replaceChildren(
      el('span', trans.__('Revoke'), 'jp-sdcc-VisuallyHidden')
    );
    body.node.replaceChildren(table);
    keepFocus();
  };
  render();
  void readAccess();
  model.changed.connect(render);
  try {
    await showDialogKeepingFocus({
      title: trans.__('My share links'),
      body,
      buttons: [Dialog.okButton({ label: trans.__('Close') })]
    });
  } finally {
    model.changed.disconnect(render);
  }
}

/** What the recipient decided about a link. */
export type ImportChoice = 'import' | 'match' | 'cancel';

/**
 * Before importing: who shared which notebook, until when, for which
 * environment, and how this session differs.
 */
export async function showImportDialog(
  preview: IImportPreview,
  trans: TranslationBundle
): Promise<ImportChoice> {
  const body = new Widget();
  body.addClass('jp-sdcc-ImportDialog');
  body.node.appendChild(
    labelTable([
      [trans.__('Shared by'), preview.owner],
      [trans.__('Notebook'), preview.name],
      [trans.__('Link valid until'), formatWhen(preview.expires_at)],
      ...environmentRows(preview.environment, trans)
    ])
  );
  body.node.appendChild(
    el(
      'p',
      trans.__(
        'A copy of the last saved version goes to shared/%1/ in your home folder. A copy you have changed is never overwritten.',
        preview.owner
      )
    )
  );
  const buttons = [Dialog.cancelButton({ label: trans.__('Cancel') })];
  const mismatches = mismatchLines(preview, trans);
  if (mismatches.length) {
    body.node.appendChild(
      el(
        'p',
        trans.__(
          'Your session differs from the one the notebook was shared from:'
        ),
        'jp-sdcc-Problem'
      )
    );
    const list = el('ul', undefined, 'jp-sdcc-Mismatches');
    for (const mismatch of mismatches) {
      list.appendChild(el('li', mismatch));
    }
    body.node.appendChild(list);
    if (preview.spawn_url) {
      buttons.push(
        Dialog.createButton({
          label: trans.__('Start a matching session…'),
          displayType: 'default'
        })
      );
    }
    buttons.push(Dialog.okButton({ label: trans.__('Import anyway') }));
  } else {
    buttons.push(Dialog.okButton({ label: trans.__('Import') }));
  }
  const answer = await showDialogKeepingFocus({
    title: trans.__('Import a shared notebook'),
    body,
    buttons
  });
  if (answer.button.accept) {
    return 'import';
  }
  return answer.button.label === trans.__('Start a matching session…')
    ? 'match'
    : 'cancel';
}

/**
 * How to start a matching session: stop this one on the hub's page, then
 * start one with the link's options pre-filled (the hub checks what you may use).
 */
export async function showMatchDialog(
  preview: IImportPreview,
  trans: TranslationBundle
): Promise<void> {
  const body = new Widget();
  body.node.appendChild(
    el(
      'p',
      trans.__(
        'Your current session must be stopped first: open the hub’s home page and use Stop My Server. Then start a session with the link’s options filled in; the hub’s form checks which of them you may use. Open the share link again in the new session to import the notebook.'
      )
    )
  );
  const links = el('p');
  if (preview.hub_home_url) {
    const home = el('a', trans.__('Stop my server (hub home)'));
    home.href = preview.hub_home_url;
    home.target = '_blank';
    home.rel = 'noopener noreferrer';
    links.appendChild(home);
    links.appendChild(document.createTextNode(' · '));
  }
  if (preview.spawn_url) {
    const spawn = el('a', trans.__('Start a matching session'));
    spawn.href = preview.spawn_url;
    spawn.target = '_blank';
    spawn.rel = 'noopener noreferrer';
    links.appendChild(spawn);
  }
  body.node.appendChild(links);
  await showDialogKeepingFocus({
    title: trans.__('Start a matching session'),
    body,
    buttons: [Dialog.okButton({ label: trans.__('Close') })]
  });
}
