/**
 * Presets and spawn links in the spawn form, in a browser, on the real Slurm
 * test cluster: alice saves her choice, finds it again after a reload,
 * applies it and deletes it; bob's link to the gpu partition names what he
 * may not use and starts nothing.
 */
import { expect, test } from '@playwright/test';

import { toSpawnForm } from './hub-login';

test('alice saves a preset, applies it after a reload and deletes it', async ({
  page
}) => {
  await toSpawnForm(page, 'alice');
  await page.getByLabel('As a batch job on the cluster').check();
  await page.getByLabel('Partition', { exact: true }).selectOption('gpu');
  await page.getByLabel('Runtime (min)').fill('45');
  const presets = page.locator('#sdcc-presets');
  await presets.getByLabel('Save the current choice as').fill('GPU tutorial');
  await presets.getByRole('button', { name: 'Save' }).click();
  await expect(presets.getByRole('status')).toHaveText(
    'Saved as “GPU tutorial”.'
  );

  // Another visit: the form's defaults, and the preset is there.
  await page.goto('/hub/spawn');
  await page.getByLabel('As a batch job on the cluster').check();
  await page.getByLabel('Partition', { exact: true }).selectOption('cpu');
  await presets.getByLabel('Apply a preset').selectOption('GPU tutorial');
  await expect(page.getByLabel('Partition', { exact: true })).toHaveValue(
    'gpu'
  );
  await expect(page.getByLabel('Account', { exact: true })).toHaveValue(
    'tier3'
  );
  await expect(page.getByLabel('QOS', { exact: true })).toHaveValue('gpu-qos');
  await expect(page.getByLabel('Runtime (min)')).toHaveValue('45');

  // A choice she may not use is refused with the form's words, and not saved.
  await page
    .getByLabel('Runtime (min)')
    .evaluate(el => el.removeAttribute('max'));
  await page.getByLabel('Runtime (min)').fill('90');
  await presets.getByLabel('Save the current choice as').fill('too long');
  await presets.getByRole('button', { name: 'Save' }).click();
  await expect(presets.getByRole('status')).toHaveText(
    'Not saved: runtime: 90 min is over the 60 min limit of QOS gpu-qos'
  );

  await presets.getByLabel('Apply a preset').selectOption('GPU tutorial');
  await presets.getByRole('button', { name: 'Delete' }).click();
  await expect(presets.getByRole('status')).toHaveText(
    'Preset “GPU tutorial” deleted.'
  );
  await page.reload();
  await expect(page.locator('#sdcc-preset option')).toHaveCount(1); // "(choose one)" only
});

test('a link bob may not use names what is not allowed and starts nothing', async ({
  page
}) => {
  await toSpawnForm(page, 'bob');
  await page.goto(
    '/hub/spawn?partition=gpu&account=tier3&qos=gpu-qos&runtime=60'
  );
  const error = page.locator('.spawn-error-msg');
  await expect(error).toContainText(
    "Partition: 'gpu' is not a partition you may use"
  );
  await expect(error).toContainText('QOS: ');
  await expect(page.getByLabel('Partition', { exact: true })).toHaveValue(
    'cpu'
  );
  await expect(page.getByLabel('Runtime (min)')).toHaveValue('60');
  await expect(page).toHaveURL(/\/hub\/spawn/);
});
