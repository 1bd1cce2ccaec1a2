/**
 * @jest-environment jsdom
 */
import { showDialog } from '@jupyterlab/apputils';

import { focusOrigin, showDialogKeepingFocus } from '../focus';

jest.mock('@jupyterlab/apputils', () => ({ showDialog: jest.fn() }));

const shown = showDialog as jest.MockedFunction<typeof showDialog>;
const answer = {} as Awaited<ReturnType<typeof showDialog>>;

function button(
  text: string,
  parent: HTMLElement = document.body
): HTMLButtonElement {
  const b = document.createElement('button');
  b.textContent = text;
  parent.appendChild(b);
  return b;
}

describe('showDialogKeepingFocus', () => {
  beforeEach(() => {
    document.body.replaceChildren();
    shown.mockReset();
  });

  it('puts the focus back on the item the user was on when a menu took it', async () => {
    const item = button('welcome.ipynb');
    item.focus();
    // A context menu takes the focus, then closes before the dialog opens.
    const menu = document.createElement('div');
    menu.className = 'lm-Menu';
    document.body.appendChild(menu);
    button('Share notebook…', menu).focus();
    expect(focusOrigin()).toBe(item);
    menu.remove();
    shown.mockImplementation(async () => {
      (document.activeElement as HTMLElement | null)?.blur();
      return answer;
    });
    await showDialogKeepingFocus({ title: 'Share notebook' });
    expect(document.activeElement).toBe(item);
  });

  it('leaves the focus alone when the dialog put it somewhere', async () => {
    const item = button('welcome.ipynb');
    item.focus();
    const other = button('elsewhere');
    shown.mockImplementation(async () => {
      other.focus();
      return answer;
    });
    await showDialogKeepingFocus({ title: 'x' });
    expect(document.activeElement).toBe(other);
  });

  it('does not focus an element that left the page', async () => {
    const item = button('gone.ipynb');
    item.focus();
    shown.mockImplementation(async () => {
      item.remove();
      return answer;
    });
    await showDialogKeepingFocus({ title: 'x' });
    expect(document.activeElement).toBe(document.body);
  });
});
