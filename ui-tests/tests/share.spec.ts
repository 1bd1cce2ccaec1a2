/**
 * Share links in a browser, on a real `sdcc-lab demo` portal: alice shares a
 * notebook from the file browser; bob opens the link, confirms, and gets a
 * copy of alice's cells in his own JupyterLab.
 *
 * The link's token is in the URL fragment (`open#TOKEN`). bob is not logged
 * in when he opens it, and his server is not running: the token must survive
 * the hub's login form and spawn form (both drop fragments), which the link
 * page bridges with the tab's sessionStorage.
 */
import * as fs from 'fs';

import { Browser, expect, Locator, Page, test } from '@playwright/test';

import { DEMO_PASSWORD } from './demo-login';
import { copyNotebook, serverCall, startLocalSession } from './hub-login';

const SIGN_IN_TIMEOUT = 120000;

/** After the hub's login: the spawn form (pick a local session) or JupyterLab. */
async function throughSpawnForm(page: Page, user: string): Promise<void> {
  const lab = new RegExp(`/user/${user}/lab`);
  await page.waitForURL(url => /\/hub\/spawn/.test(url.pathname) || lab.test(url.pathname), {
    timeout: SIGN_IN_TIMEOUT
  });
  if (/\/hub\/spawn/.test(new URL(page.url()).pathname)) {
    await page.getByLabel("Run locally on the hub's node").check();
    await page.getByRole('button', { name: 'Start', exact: true }).click();
  }
  await page.waitForURL(lab, { timeout: SIGN_IN_TIMEOUT });
  await expect(page.locator('#jp-main-dock-panel')).toBeVisible({ timeout: SIGN_IN_TIMEOUT });
}

async function signIn(page: Page, user: string): Promise<void> {
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function newPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext();
  return context.newPage();
}

/** Right-click a notebook in the file browser → Share notebook… → Create link. */
async function shareFromFileBrowser(page: Page, name: string): Promise<string> {
  const item = page.locator('.jp-DirListing-item[data-file-type="notebook"]', {
    hasText: name
  });
  await item.first().click({ button: 'right' });
  await page.getByRole('menuitem', { name: 'Share notebook…' }).click();
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog).toContainText('Share notebook');
  await dialog.getByRole('button', { name: 'Create link' }).click();
  const link = dialog.getByLabel('Share link');
  await expect(link).toHaveValue(/\/services\/share\/open#[A-Za-z0-9_.-]{16,}$/);
  await expect(dialog).toContainText('Python 3');
  await page.screenshot({ path: 'test-results/share-dialog.png' });
  const value = await link.inputValue();
  await dialog.getByRole('button', { name: 'Close' }).click();
  return value;
}

/** The row labels JupyterLab and the link page use (sdcc_lab/labels.json). */
const LABELS = [
  'Shared by',
  'Notebook',
  'Link valid until',
  'Kernel',
  'Where',
  'Partition',
  'Account',
  'QOS',
  'GPU',
  'GPUs',
  'Runtime',
  'Environment'
];

/**
 * A table that says alice's (local) session in the one vocabulary: labelled
 * rows, the scheduler's name, nothing internal (no `local` row, no
 * true/false, no empty value).
 */
async function expectSessionWords(table: Locator): Promise<void> {
  await expect(table.locator('tr', { hasText: 'Where' })).toContainText(
    'Local session on the hub node'
  );
  const rows = await table
    .locator('tr')
    .evaluateAll(trs =>
      trs.map(tr => [...tr.querySelectorAll('th, td')].map(c => (c.textContent ?? '').trim()))
    );
  for (const [label, value] of rows) {
    expect(LABELS, `row ${label}: ${value}`).toContain(label);
    expect(value, `row ${label}`).not.toBe('');
    expect(value, `row ${label}`).not.toMatch(/^(true|false|True|False|None|none|0)$/);
  }
}

/** bob opens the link, sees the service's page, continues, confirms the import. */
async function openAsBob(page: Page, link: string): Promise<void> {
  await page.goto(link);
  // The page's script sends someone not logged in to the hub's login first.
  const shared = page.getByText('A notebook was shared with you');
  const username = page.getByLabel('Username');
  await expect(shared.or(username)).toBeVisible({ timeout: SIGN_IN_TIMEOUT });
  if (await username.isVisible()) {
    await signIn(page, 'bob');
  }
  await expect(page.locator('body')).toContainText('A notebook was shared with you', {
    timeout: SIGN_IN_TIMEOUT
  });
  await expect(page.locator('body')).toContainText('alice');
  await expectSessionWords(page.locator('table').first());
  await page.screenshot({ path: 'test-results/link-page.png' });
  await page.getByRole('link', { name: 'Continue to my JupyterLab' }).click();
  await throughSpawnForm(page, 'bob');
}

const NOTEBOOK = 'share-spec.ipynb';

test('alice shares a notebook; bob opens the link and gets her cells', async ({
  page,
  browser
}) => {
  await startLocalSession(page, 'alice');
  // A notebook of this test's own: bob has never had a copy of it open (a copy of
  // the welcome notebook from another spec may be in his restored workspace).
  await copyNotebook(page, NOTEBOOK);
  await page.reload();
  await expect(page.locator('#jp-main-dock-panel')).toBeVisible({ timeout: SIGN_IN_TIMEOUT });
  const link = await shareFromFileBrowser(page, NOTEBOOK);
  // For the run's log check: the portal's output must never hold this token.
  fs.mkdirSync('test-results', { recursive: true });
  fs.writeFileSync('test-results/share-token.txt', new URL(link).hash.slice(1));

  // The notebook's tab offers it too.
  await page
    .locator('.jp-DirListing-item[data-file-type="notebook"]', { hasText: NOTEBOOK })
    .first()
    .dblclick();
  const tab = page.locator('.lm-DockPanel-tabBar .lm-TabBar-tab', { hasText: NOTEBOOK });
  await tab.first().click({ button: 'right' });
  await page.getByRole('menuitem', { name: 'Share notebook…' }).click();
  await expect(page.locator('.jp-Dialog')).toContainText(`Notebook: ${NOTEBOOK}`);
  await page.locator('.jp-Dialog').getByRole('button', { name: 'Close' }).click();

  const bob = await newPage(browser);
  await openAsBob(bob, link);
  const dialog = bob.locator('.jp-Dialog');
  await expect(dialog).toContainText('Import a shared notebook', { timeout: 30000 });
  await expect(dialog).toContainText('alice');
  await expect(dialog).toContainText(NOTEBOOK);
  // The same words as the link's page.
  await expectSessionWords(dialog.locator('table').first());
  await bob.screenshot({ path: 'test-results/import-dialog.png' });
  await dialog.getByRole('button', { name: /^Import/ }).click();
  await expect(bob.locator('.jp-Notebook')).toContainText(
    'Welcome to the sdcc_lab demo portal, alice',
    { timeout: 30000 }
  );
  const bobsTab = bob.locator('.lm-TabBar-tab.jp-mod-current');
  await expect(bobsTab).toContainText(NOTEBOOK);
  // The copy opens unmodified, also once its kernel runs (the kernel's
  // metadata used to mark it changed) and a moment after.
  await expect(bob.locator('.jp-StatusBar-Widget')).toContainText('| Idle', {
    timeout: 60000
  });
  await bob.waitForTimeout(2000);
  await expect(bobsTab).not.toHaveClass(/jp-mod-dirty/);
  await expect(bob.locator('.jp-NotebookPanel.jp-mod-current.jp-mod-dirty')).toHaveCount(0);
  // The token left the address bar and the tab's storage: a reload does not ask again.
  expect(bob.url()).not.toContain('sdcc-share');
  expect(bob.url()).not.toContain(new URL(link).hash.slice(1));
  expect(
    await bob.evaluate(() => Object.keys(sessionStorage).filter(k => k.startsWith('sdcc-share')))
  ).toEqual([]);

  // Manage my shares: alice sees the link opened once, and revokes it.
  await page.getByRole('menuitem', { name: 'File' }).click();
  await page.getByRole('menuitem', { name: 'Manage my shares…' }).click();
  const manage = page.locator('.jp-Dialog');
  await expect(manage).toContainText(NOTEBOOK);
  await page.screenshot({ path: 'test-results/manage-shares.png' });
  // Newest first: her link of a moment ago (other tests may have made links to it too).
  const revokes = manage.getByRole('button', { name: `Revoke the link to ${NOTEBOOK}` });
  const before = await revokes.count();
  await revokes.first().click();
  await expect(revokes).toHaveCount(before - 1);
  await manage.getByRole('button', { name: 'Close' }).click();

  // The revoked link: a clear page on the hub, no JupyterLab.
  await bob.goto(link);
  await expect(bob.locator('body')).toContainText('revoked');
  await expect(bob.getByRole('link', { name: 'Continue to my JupyterLab' })).toHaveCount(0);

  // Without JavaScript the page says what is needed (the fragment never reaches a server).
  const noScript = await (await browser.newContext({ javaScriptEnabled: false })).newPage();
  await noScript.goto(link);
  await expect(noScript.locator('body')).toContainText('needs JavaScript');
});

test('HTML in a file name is shown as text, never run', async ({ page, browser }) => {
  const name = '<img src=x onerror="window.__xss=1"> x.ipynb';
  await startLocalSession(page, 'alice');
  // Save a notebook with that name through the Contents API, as JupyterLab would.
  await serverCall(page, 'PUT', `api/contents/${encodeURIComponent(name)}`, {
    type: 'notebook',
    format: 'json',
    content: {
      cells: [{ cell_type: 'code', source: 'print("from a strange name")', metadata: {}, outputs: [], execution_count: null }],
      metadata: { kernelspec: { name: 'python3', display_name: 'Python 3 (ipykernel)', language: 'python' } },
      nbformat: 4,
      nbformat_minor: 4
    }
  });
  // The file browser shows files saved by others after a reload.
  await page.reload();
  await expect(page.locator('#jp-main-dock-panel')).toBeVisible({ timeout: SIGN_IN_TIMEOUT });
  const link = await shareFromFileBrowser(page, 'x.ipynb');
  expect(await page.evaluate(() => (window as any).__xss)).toBeUndefined();

  const bob = await newPage(browser);
  await openAsBob(bob, link);
  const dialog = bob.locator('.jp-Dialog');
  await expect(dialog).toContainText('Import a shared notebook', { timeout: 30000 });
  await expect(dialog).toContainText(name);
  expect(await bob.evaluate(() => (window as any).__xss)).toBeUndefined();
  expect(await dialog.locator('img').count()).toBe(0);
  await dialog.getByRole('button', { name: 'Cancel' }).click();
});
