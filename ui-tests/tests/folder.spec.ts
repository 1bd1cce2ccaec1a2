/**
 * Share a folder in a browser, on a real `sdcc-lab demo` portal: alice
 * right-clicks a folder → Share folder…, sees the site's caps, creates the
 * link and sees the files that travel; bob opens the link (the page lists the
 * files with their sizes), continues to his JupyterLab, imports, and finds the
 * folder under shared/alice/.
 */
import { Browser, expect, Page, test } from '@playwright/test';

import { checkA11y } from './axe';

import { DEMO_PASSWORD } from './demo-login';

const SIGN_IN_TIMEOUT = 120000;
const FOLDER = 'field-data';

async function throughSpawnForm(page: Page, user: string): Promise<void> {
  const lab = new RegExp(`/user/${user}/lab`);
  await page.waitForURL(
    url => /\/hub\/spawn/.test(url.pathname) || lab.test(url.pathname),
    {
      timeout: SIGN_IN_TIMEOUT
    }
  );
  if (/\/hub\/spawn/.test(new URL(page.url()).pathname)) {
    await page.getByLabel("Run locally on the hub's node").check();
    await page.getByRole('button', { name: 'Start', exact: true }).click();
  }
  await page.waitForURL(lab, { timeout: SIGN_IN_TIMEOUT });
  await expect(page.locator('#jp-main-dock-panel')).toBeVisible({
    timeout: SIGN_IN_TIMEOUT
  });
}

async function signIn(page: Page, user: string): Promise<void> {
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function newPage(browser: Browser): Promise<Page> {
  return (await browser.newContext()).newPage();
}

/** Save files through the Contents API, as JupyterLab does. */
async function saveFiles(page: Page): Promise<void> {
  await page.evaluate(async (folder: string) => {
    const xsrf = decodeURIComponent(
      document.cookie.match(/(?:^|; )_xsrf=([^;]*)/)?.[1] ?? ''
    );
    const put = async (path: string, model: unknown) => {
      // The server's base (/user/alice/), whatever JupyterLab's address below it.
      const base = location.pathname.split('/lab')[0];
      const r = await fetch(`${base}/api/contents/${path}`, {
        method: 'PUT',
        headers: { 'X-XSRFToken': xsrf, 'Content-Type': 'application/json' },
        body: JSON.stringify(model)
      });
      if (!r.ok) {
        throw new Error(`save of ${path} failed: ${r.status}`);
      }
    };
    const notebook = (source: string) => ({
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
        nbformat_minor: 5
      }
    });
    await put(folder, { type: 'directory' });
    await put(`${folder}/clean.ipynb`, notebook('import pandas as pd'));
    await put(`${folder}/plot.ipynb`, notebook('print("plot")'));
    await put(`${folder}/samples.csv`, {
      type: 'file',
      format: 'text',
      content: 'x,y\n1,2\n'
    });
  }, FOLDER);
}

test('alice shares a folder; bob sees its files and imports it', async ({
  page,
  browser
}) => {
  await page.goto('/hub/login');
  await signIn(page, 'alice');
  await throughSpawnForm(page, 'alice');
  await saveFiles(page);
  await page.reload();
  await expect(page.locator('#jp-main-dock-panel')).toBeVisible({
    timeout: SIGN_IN_TIMEOUT
  });

  const item = page.locator('.jp-DirListing-item[data-isdir="true"]', {
    hasText: FOLDER
  });
  await item.first().click({ button: 'right' });
  await page.getByRole('menuitem', { name: 'Share folder…' }).click();
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog).toContainText(`Folder: ${FOLDER}`);
  // The caps, before anything is sent.
  await expect(dialog).toContainText('at most 1000 files and 500 MB in all');
  await dialog.getByRole('button', { name: 'Create link' }).click();
  const link = dialog.getByLabel('Share link');
  await expect(link).toHaveValue(
    /\/services\/share\/open#[A-Za-z0-9_.-]{16,}$/
  );
  await expect(dialog).toContainText('3 files travel');
  await expect(dialog).toContainText('samples.csv');
  await expect(dialog).toContainText('8 bytes');
  await expect(dialog).toContainText('Python 3 (ipykernel)');
  await page.screenshot({ path: 'test-results/share-folder-dialog.png' });
  await checkA11y(page, 'lab light: Share folder dialog with its link', {
    include: ['.jp-Dialog']
  });
  const url = await link.inputValue();
  await dialog.getByRole('button', { name: 'Close' }).click();

  const bob = await newPage(browser);
  await bob.goto(url);
  const shared = bob.getByText('A folder was shared with you');
  const username = bob.getByLabel('Username');
  await expect(shared.or(username)).toBeVisible({ timeout: SIGN_IN_TIMEOUT });
  if (await username.isVisible()) {
    await signIn(bob, 'bob');
  }
  await expect(bob.locator('body')).toContainText(
    'A folder was shared with you',
    {
      timeout: SIGN_IN_TIMEOUT
    }
  );
  const files = bob.locator('table.files');
  await expect(files).toContainText('clean.ipynb');
  await expect(files).toContainText('samples.csv');
  await expect(files.locator('tr', { hasText: 'samples.csv' })).toContainText(
    '8 bytes'
  );
  await bob.screenshot({ path: 'test-results/folder-link-page.png' });
  await checkA11y(bob, 'share service: link page of a folder');
  await bob.getByRole('link', { name: 'Continue to my JupyterLab' }).click();
  await throughSpawnForm(bob, 'bob');

  const ask = bob.locator('.jp-Dialog');
  await expect(ask).toContainText('alice', { timeout: 30000 });
  await checkA11y(bob, 'lab light: import dialog of a folder', {
    include: ['.jp-Dialog']
  });
  await ask.getByRole('button', { name: /^Import/ }).click();
  await expect(
    bob.locator('.jp-Notification-Toast, .Toastify').first()
  ).toContainText(`Imported shared/alice/${FOLDER} from alice.`, {
    timeout: 30000
  });
  // The file browser shows the imported folder's files.
  const listing = bob.locator('.jp-DirListing-content');
  await expect(listing).toContainText('samples.csv', { timeout: 30000 });
  await expect(listing).toContainText('plot.ipynb');
});
