/**
 * Focus back where the user was after a dialog. JupyterLab's dialogs return
 * the focus to what had it when they opened, but a dialog opened from a menu
 * (the file browser's context menu, the menu bar) or the command palette
 * opens when those have already closed and taken the focus with them: the
 * keyboard would be left on the page. So the last element the user focused
 * outside menus, palette and dialogs is remembered, and gets the focus back
 * when the dialog closes without a better place.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';

const TRANSIENT =
  '.lm-Menu, .lm-MenuBar, .lm-CommandPalette, #command-palette, .jp-Dialog';

let lastFocused: HTMLElement | null = null;

if (typeof document !== 'undefined') {
  document.addEventListener(
    'focusin',
    event => {
      const target = event.target;
      if (target instanceof HTMLElement && !target.closest(TRANSIENT)) {
        lastFocused = target;
      }
    },
    true
  );
}

/** Where the focus goes back to after a dialog: the last element the user was on. */
export function focusOrigin(): HTMLElement | null {
  return lastFocused;
}

/** `showDialog`, and then the focus back on the user's last element if it was lost. */
export async function showDialogKeepingFocus<T>(
  options: Partial<Dialog.IOptions<T>>
): Promise<Dialog.IResult<T>> {
  const origin = lastFocused;
  const result = await showDialog(options);
  const active = document.activeElement;
  if (
    origin?.isConnected &&
    (active === null || active === document.body) &&
    // A dialog that opened another one (Share → Manage my shares) leaves it be.
    !document.querySelector('.jp-Dialog')
  ) {
    origin.focus();
  }
  return result;
}
