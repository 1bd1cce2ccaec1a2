/**
 * The start estimate in the spawn form, in a browser, on the real Slurm test
 * cluster: the form opens with the scheduler's answer for alice's choice, and
 * the line follows her choice (a refused one says why, in the form's words).
 */
import { expect, test } from '@playwright/test';

import { toSpawnForm } from './hub-login';

test('the estimate appears in the form and changes with the choice', async ({
  page
}) => {
  await toSpawnForm(page, 'alice'); // stops a session an earlier spec left
  await page.getByLabel('As a batch job on the cluster').check();
  // Her last choice comes pre-selected (another spec may have used gpu): cpu here.
  await page.getByLabel('Partition', { exact: true }).selectOption('cpu');
  const line = page.locator('#sdcc-estimate');
  // The node is idle: the scheduler would start her default choice now.
  await expect(line).toHaveText('Starts now', { timeout: 30000 });

  // More memory than the partition's largest node: the form's own refusal.
  await page.locator('#sdcc-memory').fill('30G');
  await expect(line).toHaveText(
    'memory: 30720 MiB is over the 22057 MiB limit of partition cpu',
    { timeout: 30000 }
  );
  await expect(line).toHaveAttribute('data-source', 'refused');

  // Back to what fits: the estimate comes back.
  await page.locator('#sdcc-memory').fill('2G');
  await expect(line).toHaveText('Starts now', { timeout: 30000 });

  // The GPU partition with a runtime over its QOS limit: refused, then fixed.
  await page.getByLabel('Partition', { exact: true }).selectOption('gpu');
  await page.getByLabel('Runtime (min)').fill('90');
  await expect(line).toHaveText(
    'runtime: 90 min is over the 60 min limit of QOS gpu-qos',
    { timeout: 30000 }
  );
  await page.getByLabel('Runtime (min)').fill('30');
  await expect(line).toHaveText('Starts now', { timeout: 30000 });

  // The free resources of her partitions are listed.
  await expect(
    page.locator('#sdcc-free-table tr[data-partition="cpu"]')
  ).toBeVisible();
});
