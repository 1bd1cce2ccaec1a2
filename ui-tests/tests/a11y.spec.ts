/**
 * axe-core on every page and widget the project adds to the portal (project
 * `portal`, a real `sdcc-lab demo`):
 * - the hub's pages: the login page, the spawn form, the pending page with the
 *   spawner's progress messages, in JupyterHub's light and dark mode;
 * - the share service's pages: the link page, its error pages (expired and
 *   revoked links: 410, a tampered token: 403, an unknown page: 404) and the
 *   list of one's links;
 * - in JupyterLab, light and dark theme: the share dialog (before and after the
 *   link is made), Manage my shares, About this Session, Import from a share
 *   link and the import dialog.
 *
 * The hub's pages and the service's pages are checked whole; in JupyterLab
 * only the project's dialogs (`.jp-Dialog`: JupyterLab's dialog frame with the
 * project's content and buttons), since JupyterLab's core has violations of
 * its own (logged, not asserted).
 */
import { Browser, expect, Page, test } from '@playwright/test';

import { checkA11y, logCoreViolations } from './axe';
import { docsImage } from './docs-images';
import {
  copyNotebook,
  hubXsrf,
  serverCall,
  setLabTheme,
  SIGN_IN_TIMEOUT,
  signIn,
  throughSpawnForm,
  toSpawnForm
} from './hub-login';

const DIALOG = { include: ['.jp-Dialog'] };

async function newPage(browser: Browser): Promise<Page> {
  return (await browser.newContext()).newPage();
}

/** The hub's pending page, held there: the progress stream is the hub's own, less its `ready` event. */
async function pendingPage(page: Page, user: string): Promise<void> {
  const progress = new RegExp(`/hub/api/users/${user}/server/progress`);
  await page.route(progress, async route => {
    const response = await route.fetch();
    const events = (await response.text())
      .split('\n\n')
      .filter(e => e.trim() && !/"ready":\s*true/.test(e));
    await route.fulfill({
      response,
      body: ['retry: 600000', ...events, ''].join('\n\n')
    });
  });
  // The hub API starts the server (as the form does); the page shows it starting.
  const headers = { 'X-XSRFToken': await hubXsrf(page) };
  void page.request
    .post(`/hub/api/users/${user}/server`, { headers, data: { local: true } })
    .catch(() => undefined);
  await expect
    .poll(
      async () => {
        const model = await (await page.request.get(`/hub/api/users/${user}`, { headers })).json();
        return model.servers?.['']?.pending ?? null;
      },
      { intervals: [100], timeout: 30000 }
    )
    .toBe('spawn');
  await page.goto(`/hub/spawn-pending/${user}`);
  await expect(page.locator('#progress-message')).not.toBeEmpty({ timeout: SIGN_IN_TIMEOUT });
  await checkA11y(page, 'hub: pending page with progress messages');
  await inHubDarkMode(page, () => checkA11y(page, 'hub dark: pending page with progress messages'));
  await page.unroute(progress);
}

/**
 * JupyterHub 6's dark mode (its pages follow the browser's preference, or the
 * navigation bar's toggle): the page again with the browser preferring dark.
 */
async function inHubDarkMode(page: Page, check: () => Promise<void>): Promise<void> {
  // JupyterHub's script follows a change of the preference on the open page.
  const html = page.locator('html');
  await page.emulateMedia({ colorScheme: 'dark' });
  await expect(html).toHaveAttribute('data-bs-theme', 'dark');
  await check();
  await page.emulateMedia({ colorScheme: 'light' });
  await expect(html).toHaveAttribute('data-bs-theme', 'light');
}

/** The project's dialogs in alice's JupyterLab, in the current theme. */
async function labDialogs(page: Page, theme: string): Promise<void> {
  await logCoreViolations(page, `portal lab ${theme}: JupyterLab`);

  await page.getByRole('menuitem', { name: 'Help' }).click();
  await page.getByRole('menuitem', { name: /About this Session/ }).click();
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog).toContainText('This session');
  await checkA11y(page, `lab ${theme}: About this Session dialog`, DIALOG);
  await dialog.getByRole('button', { name: 'Close' }).click();

  await page
    .locator('.jp-DirListing-item[data-file-type="notebook"]', { hasText: 'welcome.ipynb' })
    .first()
    .click({ button: 'right' });
  await page.getByRole('menuitem', { name: 'Share notebook…' }).click();
  await expect(dialog).toContainText('Share notebook');
  await expect(dialog.getByLabel('Link valid for')).toBeVisible();
  await checkA11y(page, `lab ${theme}: share dialog`, DIALOG);
  await dialog.getByRole('button', { name: 'Create link' }).click();
  await expect(dialog.getByLabel('Share link')).toHaveValue(/open#/);
  await expect(dialog).toContainText('Python 3');
  await checkA11y(page, `lab ${theme}: share dialog with its link`, DIALOG);
  await dialog.getByRole('button', { name: 'Close' }).click();

  await page.getByRole('menuitem', { name: 'File' }).click();
  await page.getByRole('menuitem', { name: 'Manage my shares…' }).click();
  await expect(dialog.getByRole('button', { name: /Revoke the link to/ }).first()).toBeVisible();
  await checkA11y(page, `lab ${theme}: Manage my shares`, DIALOG);
  await dialog.getByRole('button', { name: 'Close' }).click();
  await expect(dialog).toHaveCount(0);
}

const THEMES: Record<string, string> = { light: 'JupyterLab Light', dark: 'JupyterLab Dark' };

/** bob opens the link from its page; the import dialog shows in his JupyterLab. */
async function openImport(page: Page, link: string): Promise<void> {
  await page.goto('about:blank'); // the page may be the same address with another "#…"
  await page.goto(link);
  await page.getByRole('link', { name: 'Continue to my JupyterLab' }).click();
  await throughSpawnForm(page, 'bob');
  await expect(page.locator('.jp-Dialog')).toContainText('Import a shared notebook', {
    timeout: 30000
  });
}

/** bob's import dialogs in his JupyterLab, in `theme`. */
async function importDialog(page: Page, link: string, theme: string): Promise<void> {
  const dialog = page.locator('.jp-Dialog');
  await openImport(page, link);
  if ((await page.locator('body').getAttribute('data-jp-theme-name')) !== THEMES[theme]) {
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await setLabTheme(page, THEMES[theme]);
    await openImport(page, link);
  }
  await expect(page.locator('body')).toHaveAttribute('data-jp-theme-name', THEMES[theme]);
  await checkA11y(page, `lab ${theme}: import dialog`, DIALOG);
  if (theme === 'light') {
    await docsImage(page, 'import-dialog');
  }
  await dialog.getByRole('button', { name: 'Cancel' }).click();

  await page.getByRole('menuitem', { name: 'File' }).click();
  await page.getByRole('menuitem', { name: 'Import from a share link…' }).click();
  await expect(dialog.getByLabel('Share link')).toBeVisible();
  await checkA11y(page, `lab ${theme}: Import from a share link`, DIALOG);
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toHaveCount(0);
}

/** A page of the share service, checked once its script has shown `text`. */
async function servicePage(page: Page, url: string, text: RegExp, name: string): Promise<void> {
  // A link that differs only after "#" would not load the page again.
  await page.goto('about:blank');
  await page.goto(url);
  await expect(page.locator('h1')).toHaveText(text, { timeout: 30000 });
  await checkA11y(page, `share service: ${name}`);
}

test('every page and widget of the project passes axe (light and dark)', async ({
  page,
  browser
}) => {
  test.setTimeout(600000);

  await test.step('hub pages, light and dark mode', async () => {
    await page.goto('/hub/login');
    await expect(page.getByLabel('Username')).toBeVisible();
    await checkA11y(page, 'hub: login page');
    await inHubDarkMode(page, () => checkA11y(page, 'hub dark: login page'));
    await toSpawnForm(page, 'alice');
    await checkA11y(page, 'hub: spawn form');
    await page.getByLabel('As a batch job on the cluster').check();
    await page.locator('#sdcc-limits summary').click();
    await expect(page.locator('#sdcc-limits table')).toBeVisible();
    await checkA11y(page, 'hub: spawn form, batch job with its limits');
    await docsImage(page, 'spawn-form', { fullPage: true });
    await inHubDarkMode(page, () => checkA11y(page, 'hub dark: spawn form'));
    await pendingPage(page, 'alice');
    await page.goto('/hub/spawn-pending/alice');
    await throughSpawnForm(page, 'alice');
  });

  // alice's links: one to open, one that expires at once, one she revokes.
  await copyNotebook(page, 'a11y-expired.ipynb');
  await copyNotebook(page, 'a11y-revoked.ipynb');
  const share = (path: string, expires_in?: number) =>
    serverCall(page, 'POST', 'sdcc-lab/api/shares', { path, expires_in });
  const absolute = (url: string) => new URL(url, page.url()).href;
  const link = absolute((await share('welcome.ipynb')).url);
  const expired = absolute((await share('a11y-expired.ipynb', 1)).url);
  const revokedShare = await share('a11y-revoked.ipynb');
  await serverCall(page, 'DELETE', `sdcc-lab/api/shares/${revokedShare.id}`);
  const revoked = absolute(revokedShare.url);

  await test.step('alice\'s JupyterLab, light theme', async () => {
    await setLabTheme(page, THEMES.light);
    await labDialogs(page, 'light');
  });
  await test.step('the share service\'s list of alice\'s links', async () => {
    await servicePage(page, '/services/share/', /My share links/, 'my share links');
  });
  await test.step('alice\'s JupyterLab, dark theme', async () => {
    await page.goto('/user/alice/lab');
    await setLabTheme(page, THEMES.dark);
    await labDialogs(page, 'dark');
  });

  const bob = await newPage(browser);
  await test.step('the link page and its error pages', async () => {
    await bob.goto(link);
    await signIn(bob, 'bob');
    await expect(bob.locator('h1')).toHaveText('A notebook was shared with you', {
      timeout: SIGN_IN_TIMEOUT
    });
    await checkA11y(bob, 'share service: link page');
    await docsImage(bob, 'link-page');
    await servicePage(bob, expired, /no longer works/, 'expired link (410)');
    await expect(bob.locator('body')).toContainText('expired');
    await servicePage(bob, revoked, /no longer works/, 'revoked link (410)');
    await expect(bob.locator('body')).toContainText('revoked');
    const token = new URL(link).hash.slice(1);
    const tampered = link.replace(token, token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA'));
    await servicePage(bob, tampered, /cannot be opened/, 'tampered link (403)');
    await servicePage(bob, '/services/share/no-such-page', /Not found/, 'unknown page (404)');
    await servicePage(bob, '/services/share/', /Share links/, 'my share links, none');
    // The service's pages follow the browser's dark preference (system colours):
    // the same users' pages again in browser contexts that prefer dark.
    const dark = async (of: Page): Promise<Page> =>
      (
        await browser.newContext({
          colorScheme: 'dark',
          storageState: await of.context().storageState()
        })
      ).newPage();
    const bobDark = await dark(bob);
    await servicePage(bobDark, link, /A notebook was shared with you/, 'link page, dark');
    await servicePage(bobDark, revoked, /no longer works/, 'revoked link (410), dark');
    const aliceDark = await dark(page);
    await servicePage(aliceDark, '/services/share/', /My share links/, 'my share links, dark');
    await bobDark.context().close();
    await aliceDark.context().close();
  });

  await test.step('bob\'s import dialogs, light and dark theme', async () => {
    await importDialog(bob, link, 'light');
    await importDialog(bob, link, 'dark');
  });

  // Both back to JupyterLab's default theme, for the specs that follow.
  await setLabTheme(bob, THEMES.light);
  await page.goto('/user/alice/lab');
  await setLabTheme(page, THEMES.light);
});
