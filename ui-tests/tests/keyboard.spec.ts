/**
 * The portal with the keyboard alone (project `portal`, a real `sdcc-lab
 * demo`): after each page's first navigation only `page.keyboard` is used (no
 * clicks). alice logs in, goes through every field of the spawn form, starts
 * a session, shares a notebook from the file browser (its context menu with
 * Shift+F10), creates and copies the link; bob opens it and imports the
 * notebook; alice revokes the link in Manage my shares. After each dialog the
 * focus is back where the user was.
 */
import { Browser, expect, Page, test } from '@playwright/test';

import { DEMO_PASSWORD } from './demo-login';
import { formAfterLogin, SIGN_IN_TIMEOUT } from './hub-login';
import { focused, focusMatches, palette, tabTo } from './keyboard';

/** The hub's login form: the user name field has the focus when the page opens. */
async function keyboardSignIn(page: Page, user: string): Promise<void> {
  await expect(page.getByLabel('Username')).toBeFocused();
  await page.keyboard.type(user);
  await page.keyboard.press('Tab');
  await expect(page.getByLabel('Password')).toBeFocused();
  await page.keyboard.type(DEMO_PASSWORD);
  await page.keyboard.press('Enter');
}

/** On the spawn form: choose "Run locally" with the arrow keys, then Start with Enter. */
async function startLocally(page: Page, user: string): Promise<void> {
  await tabTo(page, 'input[name=local]:checked');
  if (!(await focusMatches(page, '#sdcc-where-local'))) {
    await page.keyboard.press('ArrowDown');
  }
  await expect(page.getByLabel("Run locally on the hub's node")).toBeChecked();
  await tabTo(page, 'button[type=submit]');
  await page.keyboard.press('Enter');
  await page.waitForURL(new RegExp(`/user/${user}/lab`), { timeout: SIGN_IN_TIMEOUT });
  await expect(page.locator('#jp-main-dock-panel')).toBeVisible({ timeout: SIGN_IN_TIMEOUT });
}

/** The selector of every control of the form a keyboard user must reach, as the form is now. */
async function formControls(page: Page): Promise<string[]> {
  return page.locator('#sdcc-spawn-form').evaluate(form =>
    Array.from(
      form.querySelectorAll<HTMLElement>('input, select, textarea, button, summary, a[href]')
    )
      .filter(el => {
        const input = el as HTMLInputElement;
        if (input.disabled || input.type === 'hidden' || el.closest('[hidden]')) {
          return false;
        }
        // A group of radio buttons is one stop: its checked button.
        if (input.type === 'radio' && !input.checked) {
          return false;
        }
        return el.getClientRects().length > 0;
      })
      .map(el => (el.id ? `#${el.id}` : `${el.tagName.toLowerCase()}:${el.textContent?.trim()}`))
  );
}

async function newPage(browser: Browser): Promise<Page> {
  return (await browser.newContext()).newPage();
}

test('the portal with the keyboard alone: form, share, copy, import, revoke', async ({
  page,
  browser
}) => {
  test.setTimeout(600000);

  await test.step('every field of the spawn form, then a local session', async () => {
    await page.goto('/hub/login');
    await keyboardSignIn(page, 'alice');
    await formAfterLogin(page, 'alice');
    await expect(page.locator('#sdcc-spawn-form')).toBeVisible();
    // From the top of the page to Start: a batch job (the default) on a partition
    // with GPUs, so every field is in use; a closed <details> is opened.
    const reached: string[] = [];
    for (let i = 0; i < 60 && !(await focusMatches(page, 'button[type=submit]')); i++) {
      await page.keyboard.press('Tab');
      const id = await page.evaluate(() => {
        const el = document.activeElement as HTMLElement;
        return el.id ? `#${el.id}` : `${el.tagName.toLowerCase()}:${el.textContent?.trim()}`;
      });
      reached.push(id);
      if (id === '#sdcc-where-local') {
        await page.keyboard.press('ArrowUp'); // the radio group's other button
        reached.push('#sdcc-where-batch');
      } else if (id === '#sdcc-partition') {
        await page.keyboard.type('gpu'); // a select's type-ahead
        await expect(page.locator('#sdcc-partition')).toHaveValue('gpu');
      } else if (id === '#sdcc-gpu') {
        await page.keyboard.type('any');
        await expect(page.locator('#sdcc-gpu')).toHaveValue('any');
      } else if (id === '#sdcc-runtime') {
        await page.keyboard.type('30');
      } else if (id.startsWith('summary:')) {
        const details = page.locator('details:has(> summary:focus)');
        if ((await details.getAttribute('open')) === null) {
          await page.keyboard.press('Enter');
          await expect(details).toHaveAttribute('open', '');
        }
      }
    }
    await expect(page.getByLabel('As a batch job on the cluster')).toBeChecked();
    await expect(page.locator('#sdcc-limits')).toHaveAttribute('open', '');
    const expected = await formControls(page);
    expect(expected.length).toBeGreaterThan(6);
    for (const control of expected) {
      expect(reached, `Tab never reached ${control}`).toContain(control);
    }
    await expect(page.getByLabel('GPUs')).toBeEnabled();
    await expect(page.getByLabel('Runtime (min)')).toHaveValue('30');
    // Back up to "Where", run locally this time (no batch job in this test).
    await tabTo(page, 'input[name=local]:checked', { key: 'Shift+Tab' });
    await startLocally(page, 'alice');
  });

  let link = '';
  await test.step('share from the file browser: Shift+F10, create, copy', async () => {
    // The file browser is open beside the notebook: back to its listing with Shift+Tab.
    await expect(page.locator('.jp-DirListing-item').first()).toBeVisible();
    await tabTo(page, '.jp-DirListing-item, .jp-DirListing-item *, .jp-DirListing-content', {
      key: 'Shift+Tab',
      max: 60
    });
    await page.keyboard.type('welcome'); // the listing's type-ahead selects the file
    const item = page.locator('.jp-DirListing-item.jp-mod-selected');
    await expect(item).toContainText('welcome.ipynb');
    await page.keyboard.press('Shift+F10');
    const menu = page.locator('.lm-Menu').last();
    await expect(menu).toBeVisible();
    // Down the menu until its active item is "Share notebook…".
    const active = menu.locator('.lm-Menu-item.lm-mod-active');
    for (let i = 0; i < 40; i++) {
      const text = (await active.count()) ? await active.first().innerText() : '';
      if (/Share notebook/.test(text)) {
        break;
      }
      await page.keyboard.press('ArrowDown');
    }
    await expect(active).toContainText('Share notebook…');
    await page.keyboard.press('Enter');

    const dialog = page.locator('.jp-Dialog');
    await expect(dialog).toContainText('Share notebook');
    await tabTo(page, '.jp-sdcc-ShareDialog button.jp-mod-accept'); // Create link
    await page.keyboard.press('Enter');
    const input = dialog.getByLabel('Share link');
    await expect(input).toHaveValue(/open#/);
    await expect(input).toBeFocused(); // the link, selected, ready for Ctrl+C
    link = await input.inputValue();
    await tabTo(page, '.jp-sdcc-ShareResult button'); // Copy link
    await page.keyboard.press('Enter');
    await expect(page.locator('.jp-Notification-Toast-success', { hasText: 'Link copied' })).toBeVisible();
    await page.keyboard.press('Escape');
    await expect(dialog).toHaveCount(0);
    // Back on the file it was opened from.
    await expect
      .poll(() => page.evaluate(() => !!document.activeElement?.closest('.jp-DirListing')))
      .toBe(true);
    await expect(item).toContainText('welcome.ipynb');
  });

  await test.step('bob opens the link and imports it with the keyboard', async () => {
    const bob = await newPage(browser);
    await bob.goto(link);
    await keyboardSignIn(bob, 'bob');
    await expect(bob.locator('h1')).toHaveText('A notebook was shared with you', {
      timeout: SIGN_IN_TIMEOUT
    });
    await tabTo(bob, 'a.button');
    await bob.keyboard.press('Enter');
    await bob.waitForURL(url => /\/hub\/spawn|\/user\/bob\/lab/.test(url.pathname), {
      timeout: SIGN_IN_TIMEOUT
    });
    if (/\/hub\/spawn/.test(bob.url())) {
      await startLocally(bob, 'bob');
    }
    const dialog = bob.locator('.jp-Dialog');
    await expect(dialog).toContainText('Import a shared notebook', { timeout: 30000 });
    // The dialog's default button has the focus: Enter imports.
    await expect(dialog.getByRole('button', { name: /^Import/ })).toBeFocused();
    await bob.keyboard.press('Enter');
    await expect(bob.locator('.jp-Notebook')).toContainText(
      'Welcome to the sdcc_lab demo portal, alice',
      { timeout: 30000 }
    );
  });

  await test.step('Manage my shares from the command palette: revoke with the keyboard', async () => {
    const before = await focused(page);
    await palette(page, 'Manage my shares');
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog).toContainText('welcome.ipynb');
    const revokes = dialog.getByRole('button', { name: /Revoke the link to welcome.ipynb/ });
    const count = await revokes.count();
    await tabTo(page, '.jp-Dialog button[aria-label^="Revoke the link to welcome.ipynb"]');
    await page.keyboard.press('Enter');
    await expect(revokes).toHaveCount(count - 1);
    await page.keyboard.press('Escape');
    await expect(dialog).toHaveCount(0);
    // The keyboard is back in the page: where it was before the palette, or
    // where JupyterLab's palette hands it after a command (the main area).
    const after = await focused(page);
    const inMain = await page.evaluate(
      () => !!document.activeElement?.closest('#jp-main-dock-panel')
    );
    expect(after === before || inMain, `focus after the dialog: ${after}`).toBe(true);
    expect(after).not.toBe('body');
  });
});
