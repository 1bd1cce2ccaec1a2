/**
 * "Shared with me": the left sidebar's list of what is shared with me. Every
 * value from the server is put into the page as text, never as HTML.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { labelTable } from '../table';
import { environmentRows, formatWhen } from '../share/format';
import { actionFor, InboxModel } from './model';
import { IInboxItem, InboxState } from './types';

export const inboxIcon = new LabIcon({
  name: 'sdcc-lab:inbox',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24"><path class="jp-icon3" fill="#616161" d="M19 3H5a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h14a2 2 0 0 0 2-2V5a2 2 0 0 0-2-2zm0 12h-4a3 3 0 0 1-6 0H5V5h14v10z"/></svg>'
});

export function stateText(state: InboxState, trans: TranslationBundle): string {
  switch (state) {
    case 'new':
      return trans.__('New');
    case 'imported':
      return trans.__('Imported');
    case 'updated':
      return trans.__('Updated since you imported');
    case 'revoked':
      return trans.__('Revoked');
    case 'expired':
      return trans.__('Expired');
  }
}

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

export class InboxPanel extends Widget {
  constructor(
    readonly model: InboxModel,
    private readonly trans: TranslationBundle,
    private readonly onImport: (item: IInboxItem) => Promise<void>
  ) {
    super();
    this.id = 'sdcc-lab-inbox';
    this.addClass('jp-sdcc-Inbox');
    this.title.icon = inboxIcon;
    this.title.caption = trans.__('Shared with me');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', trans.__('Shared with me'));
    model.changed.connect(this.render, this);
    this.render();
  }

  protected onAfterShow(): void {
    void this.model.refresh();
  }

  render(): void {
    const trans = this.trans;
    const heading = el('h2', trans.__('Shared with me'), 'jp-sdcc-InboxTitle');
    const children: HTMLElement[] = [heading];
    if (this.model.problem) {
      children.push(
        el(
          'p',
          trans.__(
            'Could not read what is shared with you: %1',
            this.model.problem
          ),
          'jp-sdcc-Problem'
        )
      );
    }
    if (this.model.items.length === 0 && !this.model.problem) {
      children.push(
        el(
          'p',
          trans.__(
            'Nothing yet. Notebooks shared with you or your groups, and links you open, are listed here.'
          )
        )
      );
    }
    const list = el('ul', undefined, 'jp-sdcc-InboxList');
    for (const item of this.model.items) {
      list.appendChild(this.itemNode(item));
    }
    children.push(list);
    this.node.replaceChildren(...children);
  }

  private itemNode(item: IInboxItem): HTMLElement {
    const trans = this.trans;
    const li = el('li', undefined, 'jp-sdcc-InboxItem');
    li.dataset.state = item.state;
    li.dataset.shareId = item.id;
    if (item.state === 'new') {
      li.classList.add('jp-mod-new');
    }
    const head = el('div', undefined, 'jp-sdcc-InboxHead');
    head.appendChild(el('span', item.name, 'jp-sdcc-InboxName'));
    head.appendChild(
      el('span', stateText(item.state, trans), 'jp-sdcc-InboxState')
    );
    li.appendChild(head);
    const rows: [string, string][] = [
      [trans.__('Shared by'), item.owner],
      [trans.__('Updated'), formatWhen(item.updated_at)]
    ];
    if (item.imported_version !== null) {
      rows.push([
        trans.__('Your copy'),
        trans.__('version %1 of %2', item.imported_version, item.version)
      ]);
    }
    rows.push(...environmentRows(item.environment, trans));
    li.appendChild(labelTable(rows));
    const action = actionFor(item.state);
    if (action && item.url) {
      const words = {
        import: trans.__('Import'),
        refresh: trans.__('Refresh my copy'),
        again: trans.__('Import again')
      }[action];
      const button = el('button', words, 'jp-Button jp-mod-styled');
      if (action !== 'again') {
        button.classList.add('jp-mod-accept');
      }
      button.setAttribute('aria-label', `${words}: ${item.name}`);
      button.onclick = async () => {
        button.disabled = true;
        try {
          await this.onImport(item);
        } finally {
          button.disabled = false;
        }
      };
      li.appendChild(button);
    }
    return li;
  }
}
