/**
 * A browser logs in to a real `sdcc-lab demo` portal (JupyterHub with
 * configurable-http-proxy) and reaches each user's own JupyterLab.
 */
import { expect, Page, test } from '@playwright/test';
import { startLocalSession } from './hub-login';

async function sessionDialog(page: Page): Promise<string> {
  await page.getByRole('menuitem', { name: 'Help' }).click();
  await page.getByRole('menuitem', { name: /About this Session/ }).click();
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog).toContainText('This session');
  return (await dialog.textContent()) ?? '';
}

test('alice logs in to the portal and her JupyterLab has sdcc_lab', async ({ page }) => {
  await startLocalSession(page, 'alice');
  await expect(page.locator('.jp-DirListing-item', { hasText: 'welcome.ipynb' })).toBeVisible();
  const text = await sessionDialog(page);
  expect(text).toContain('alice');
  expect(text).toContain('Local session on the hub node');
  await page.screenshot({ path: 'test-results/portal-alice.png' });
});

test('bob logs in and reaches his own JupyterLab, not alice\'s', async ({ page }) => {
  await startLocalSession(page, 'bob');
  expect(page.url()).toContain('/user/bob/lab');
  const text = await sessionDialog(page);
  expect(text).toContain('bob');
  expect(text).not.toContain('alice');
});
