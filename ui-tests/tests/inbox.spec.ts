/**
 * "Shared with me" in a browser, on a real `sdcc-lab demo` portal (alice, bob,
 * carol; the hub group physics): alice shares a notebook with bob only, from
 * the share dialog; bob's JupyterLab announces it once and lists it as new in
 * the left sidebar; one click imports it; alice saves → "Updated since you
 * imported"; alice revokes → "Revoked", and the import button is gone.
 */
import { expect, Page, test } from '@playwright/test';

import { checkA11y } from './axe';
import { DEMO_PASSWORD } from './demo-login';
import { setLabTheme } from './hub-login';

const SIGN_IN = 120000;

async function logIn(page: Page, user: string): Promise<void> {
  await page.goto('/hub/login');
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const lab = new RegExp(`/user/${user}/lab`);
  await page.waitForURL(
    u => /\/hub\/spawn/.test(u.pathname) || lab.test(u.pathname),
    {
      timeout: SIGN_IN
    }
  );
  if (/\/hub\/spawn/.test(new URL(page.url()).pathname)) {
    await page.getByLabel("Run locally on the hub's node").check();
    await page.getByRole('button', { name: 'Start', exact: true }).click();
  }
  await page.waitForURL(lab, { timeout: SIGN_IN });
  await expect(page.locator('#jp-main-dock-panel')).toBeVisible({
    timeout: SIGN_IN
  });
}

/** A call of the user's own server, as JupyterLab makes it (with its _xsrf). */
async function serverCall(
  page: Page,
  method: string,
  path: string,
  body?: unknown
): Promise<any> {
  return page.evaluate(
    async ([method, path, body]) => {
      const xsrf = document.cookie.match(/(?:^|; )_xsrf=([^;]*)/)?.[1] ?? '';
      // The server's base (/user/NAME/), whatever JupyterLab's own URL below it is.
      const base = location.pathname.match(/^\/user\/[^/]+\//)?.[0] ?? '/';
      const r = await fetch(base + (path as string), {
        method: method as string,
        headers: {
          'X-XSRFToken': decodeURIComponent(xsrf),
          'Content-Type': 'application/json'
        },
        body: body === undefined ? undefined : JSON.stringify(body)
      });
      if (!r.ok) {
        throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
      }
      return r.status === 204 ? null : r.json();
    },
    [method, path, body] as const
  );
}

async function saveNotebook(
  page: Page,
  path: string,
  source: string
): Promise<void> {
  await serverCall(page, 'PUT', `api/contents/${encodeURIComponent(path)}`, {
    type: 'notebook',
    format: 'json',
    content: {
      cells: [
        {
          cell_type: 'code',
          source,
          metadata: {},
          outputs: [],
          execution_count: null
        }
      ],
      metadata: {
        kernelspec: {
          name: 'python3',
          display_name: 'Python 3 (ipykernel)',
          language: 'python'
        }
      },
      nbformat: 4,
      nbformat_minor: 4
    }
  });
}

/** Show the sidebar again: it reads the inbox each time it is shown. */
async function reopenInbox(page: Page): Promise<void> {
  const tab = page.locator(
    '.jp-SideBar .lm-TabBar-tab[title="Shared with me"]'
  );
  if (await page.locator('#sdcc-lab-inbox').isVisible()) {
    await tab.click(); // hide
  }
  await tab.click();
  await expect(page.locator('#sdcc-lab-inbox')).toBeVisible();
}

test('alice shares with bob only; bob’s Shared with me follows it', async ({
  page,
  browser
}) => {
  test.setTimeout(300000);
  await logIn(page, 'alice');
  await saveNotebook(page, 'weekly.ipynb', 'week = 1');
  await page.reload();
  await expect(page.locator('#jp-main-dock-panel')).toBeVisible({
    timeout: SIGN_IN
  });
  // The share dialog: only bob.
  await page
    .locator('.jp-DirListing-item[data-file-type="notebook"]', {
      hasText: 'weekly.ipynb'
    })
    .first()
    .click({ button: 'right' });
  await page.getByRole('menuitem', { name: 'Share notebook…' }).click();
  const dialog = page.locator('.jp-Dialog');
  await dialog.getByLabel('Only these people and groups:').check();
  await dialog.getByLabel('Users', { exact: true }).fill('bob');
  await dialog.getByRole('button', { name: 'Create link' }).click();
  await expect(dialog.getByLabel('Share link')).toHaveValue(
    /\/services\/share\/open#/
  );
  await expect(dialog).toContainText('Only for: bob.');
  await checkA11y(page, 'lab light: share dialog with an audience', {
    include: ['.jp-Dialog']
  });
  await dialog.getByRole('button', { name: 'Close' }).click();
  const { shares } = await serverCall(page, 'GET', 'sdcc-lab/api/shares');
  const shareId: string = shares.find((s: any) => s.path === 'weekly.ipynb').id;

  // bob: announced once, listed as new.
  const bob = await (await browser.newContext()).newPage();
  await logIn(bob, 'bob');
  await expect(
    bob.locator('.Toastify__toast', {
      hasText: 'alice shared weekly.ipynb with you.'
    })
  ).toBeVisible({
    timeout: 30000
  });
  await reopenInbox(bob);
  const item = bob.locator(
    `#sdcc-lab-inbox .jp-sdcc-InboxItem[data-share-id="${shareId}"]`
  );
  await expect(item).toHaveAttribute('data-state', 'new');
  await expect(item).toHaveClass(/jp-mod-new/);
  await expect(item).toContainText('New');
  await expect(item).toContainText('alice');
  await expect(item).toContainText('Python 3');
  await checkA11y(bob, 'lab light: Shared with me', {
    include: ['#sdcc-lab-inbox']
  });
  await bob.screenshot({ path: 'test-results/inbox-new.png' });
  // One click imports and opens it.
  await item.getByRole('button', { name: 'Import: weekly.ipynb' }).click();
  await expect(
    bob.locator('.jp-Notification-Toast-success, .Toastify__toast', {
      hasText: 'Imported shared/alice/weekly.ipynb from alice.'
    })
  ).toBeVisible({ timeout: 30000 });
  await expect(item).toHaveAttribute('data-state', 'imported');

  // alice saves: bob's copy is older now.
  await saveNotebook(page, 'weekly.ipynb', 'week = 2');
  await expect(async () => {
    await reopenInbox(bob);
    await expect(item).toHaveAttribute('data-state', 'updated', {
      timeout: 2000
    });
  }).toPass({ timeout: 30000 });
  await expect(item).toContainText('Updated since you imported');
  await expect(
    item.getByRole('button', { name: 'Refresh my copy: weekly.ipynb' })
  ).toBeVisible();

  // alice revokes: bob sees it, with nothing to import.
  await serverCall(page, 'DELETE', `sdcc-lab/api/shares/${shareId}`);
  await expect(async () => {
    await reopenInbox(bob);
    await expect(item).toHaveAttribute('data-state', 'revoked', {
      timeout: 2000
    });
  }).toPass({ timeout: 30000 });
  await expect(item).toContainText('Revoked');
  await expect(item.getByRole('button')).toHaveCount(0);

  // The sidebar in the dark theme too (then back to the default for the specs after).
  await setLabTheme(bob, 'JupyterLab Dark');
  await reopenInbox(bob);
  await checkA11y(bob, 'lab dark: Shared with me', {
    include: ['#sdcc-lab-inbox']
  });
  await setLabTheme(bob, 'JupyterLab Light');
});
