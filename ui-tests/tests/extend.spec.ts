/**
 * Extend, in a browser, on the real Slurm test cluster: alice's 10-minute
 * session gets 15 minutes more from the Session resources panel, and the
 * countdown moves at once (the hub runs scontrol update; docs/api.md).
 */
import { expect, test } from '@playwright/test';

import { checkA11y } from './axe';
import { hubXsrf, showResources, toSpawnForm } from './hub-login';

test('the panel’s Extend button moves the countdown', async ({ page }) => {
  await toSpawnForm(page, 'alice');
  await page.getByLabel('As a batch job on the cluster').check();
  await page.getByLabel('Partition', { exact: true }).selectOption('gpu');
  await page.getByLabel('Runtime (min)').fill('10');
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await page.waitForURL(/\/user\/alice\/lab/, { timeout: 120000 });
  await expect(page.locator('#jp-main-dock-panel')).toBeVisible({
    timeout: 120000
  });

  const panel = await showResources(page);
  const timer = panel.getByRole('timer');
  // At most 10 minutes left.
  await expect(timer).toContainText(/^0:(0\d|10):\d\d left$/, {
    timeout: 30000
  });
  await expect(panel).toContainText('2 extensions left.');
  await checkA11y(
    page,
    'lab light: Session resources panel of a Slurm session, with Extend',
    {
      include: ['#sdcc-lab-resources']
    }
  );

  await panel.getByLabel('More time').selectOption('15');
  await panel.getByRole('button', { name: 'Extend' }).click();
  // 10 + 15 minutes: the countdown is past 20 minutes now.
  await expect(timer).toContainText(/^0:2[0-5]:\d\d left$/, { timeout: 30000 });
  await expect(panel).toContainText(
    /Extended by 15 min: the session now ends at /
  );
  await expect(panel).toContainText('Limit');
  await expect(panel).toContainText('25 min');

  // Done: stop the session, so the next specs find the node free.
  const stopped = await page.request.delete('/hub/api/users/alice/server', {
    headers: { 'X-XSRFToken': await hubXsrf(page) }
  });
  expect([202, 204]).toContain(stopped.status());
});
