/**
 * The spawn form on the real Slurm test cluster, in a browser: the choices
 * narrow as alice picks, and a Slurm session opens her JupyterLab.
 * (CI starts the cluster before the browser tests: scripts/test.sh.)
 */
import { expect, Page, test } from '@playwright/test';
import { docsImage } from './docs-images';
import { showResources, toSpawnForm } from './hub-login';

async function optionValues(page: Page, label: string): Promise<string[]> {
  return page
    .getByLabel(label, { exact: true })
    .locator('option')
    .evaluateAll(options => options.map(o => (o as HTMLOptionElement).value));
}

test('choosing a partition narrows accounts, QOS and the runtime limit', async ({ page }) => {
  await toSpawnForm(page, 'alice');
  await page.getByLabel('As a batch job on the cluster').check();
  const partition = page.getByLabel('Partition', { exact: true });

  await partition.selectOption('gpu');
  expect(await optionValues(page, 'Account')).toEqual(['tier3']);
  expect(await optionValues(page, 'QOS')).toEqual(['gpu-qos']);
  await expect(page.locator('#sdcc-runtime-help')).toHaveText(
    'At most 60 min (limit of QOS gpu-qos).'
  );
  await expect(page.getByLabel('Runtime (min)')).toHaveAttribute('max', '60');

  await partition.selectOption('cpu');
  expect(await optionValues(page, 'Account')).toEqual(['physics']);
  expect(await optionValues(page, 'QOS')).toEqual(['normal']);
  await expect(page.locator('#sdcc-runtime-help')).toHaveText('No runtime limit applies.');

  // Run locally hides the batch choices.
  await page.getByLabel("Run locally on the hub's node").check();
  await expect(page.locator('#sdcc-batch-fields')).toBeHidden();
});

test('bob is never offered the gpu partition', async ({ page }) => {
  await toSpawnForm(page, 'bob');
  expect(await optionValues(page, 'Partition')).toEqual(['cpu']);
  expect(await optionValues(page, 'Account')).toEqual(['tier3']);
});

test('a runtime over the limit comes back with the reason, then a Slurm session opens', async ({
  page
}) => {
  await toSpawnForm(page, 'alice');
  await page.getByLabel('As a batch job on the cluster').check();
  await page.getByLabel('Partition', { exact: true }).selectOption('gpu');
  await page.getByLabel('GPU', { exact: true }).selectOption('any');
  const runtime = page.getByLabel('Runtime (min)');
  // Past the browser's own check: the hub must refuse it too.
  await runtime.evaluate(el => el.removeAttribute('max'));
  await runtime.fill('90');
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await expect(page.locator('.spawn-error-msg')).toContainText(
    'runtime: 90 min is over the 60 min limit of QOS gpu-qos'
  );
  // The form keeps her choices.
  await expect(page.getByLabel('Partition', { exact: true })).toHaveValue('gpu');

  await page.getByLabel('Runtime (min)').fill('30');
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await page.waitForURL(/\/user\/alice\/lab/, { timeout: 120000 });
  await expect(page.locator('#jp-main-dock-panel')).toBeVisible({ timeout: 120000 });
  await page.getByRole('menuitem', { name: 'Help' }).click();
  await page.getByRole('menuitem', { name: /About this Session/ }).click();
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog).toContainText('Slurm batch job');
  await expect(dialog).toContainText('gpu-qos');
  await dialog.getByRole('button', { name: 'Close' }).click();

  // The Session resources panel shows the job and counts down its 30 minutes.
  const panel = await showResources(page);
  await expect(panel).toContainText(/Slurm job \d+/);
  await expect(panel).toContainText('tier3');
  await expect(panel).toContainText('gpu-qos');
  const timer = panel.getByRole('timer');
  await expect(timer).toContainText(/0:(29|30):\d\d left|0:2\d:\d\d left/);
  await page.screenshot({ path: 'test-results/spawn-slurm-alice.png' });
  await docsImage(page, 'slurm-session'); // the README's image (scripts/docs_images.sh)
});
