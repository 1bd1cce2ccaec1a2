import { expect, test } from '@jupyterlab/galata';

test.describe('sdcc_lab in JupyterLab', () => {
  test('the server extension answers: no warning is shown', async ({
    page
  }) => {
    await page.waitForTimeout(1000);
    await expect(page.locator('.jp-Notification-Toast-warning')).toHaveCount(0);
  });

  test('Help → About this Session… shows a local session', async ({ page }) => {
    await page.menu.clickMenuItem('Help>About this Session…');
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog).toContainText('This session');
    await expect(dialog).toContainText('Local session on the hub node');
    await dialog.getByRole('button', { name: 'Close' }).click();
    await expect(dialog).toHaveCount(0);
  });
});
