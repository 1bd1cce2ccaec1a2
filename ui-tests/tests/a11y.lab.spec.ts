/**
 * axe-core on the project's widgets in JupyterLab (project `lab`), in the
 * light and the dark theme: the Session resources panel (with Dask worker
 * jobs), the status-bar countdown and "About this Session…".
 *
 * axe runs on the project's own DOM only (`include`): JupyterLab's core has
 * violations of its own (the whole page's are logged, not asserted; see the
 * report in test-results/axe-counts.jsonl). The session ends 90 minutes after
 * the server started (ui-tests/sdcc_lab_fixed_end.py), so the countdown shows;
 * the worker jobs are the server's answers replaced here (a local session has
 * none; the real Slurm side is tests/test_dask_slurm.py).
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';

import { checkA11y, logCoreViolations } from './axe';
import { docsImage } from './docs-images';

const WORKERS = [
  { id: '701', name: 'dask-alice-12', state: 'RUNNING', reason: null, cpus: 1,
    memory_bytes: 2 * 1024 ** 3, gpus: 0, partition: 'gpu' },
  { id: '702', name: 'dask-alice-12', state: 'PENDING', reason: 'Resources', cpus: 1,
    memory_bytes: 2 * 1024 ** 3, gpus: 1, partition: 'gpu' }
];

async function projectWidgets(page: IJupyterLabPageFixture, theme: string): Promise<void> {
  await page.sidebar.openTab('sdcc-lab-resources');
  const panel = page.getByRole('region', { name: 'Session resources' });
  await expect(panel.getByRole('timer', { name: 'Time remaining' })).toHaveText(/left/);
  await expect(panel.getByRole('progressbar', { name: 'Memory' })).toBeVisible();
  await expect(panel.locator('.jp-sdcc-Workers')).toContainText('702');
  await checkA11y(page, `lab ${theme}: Session resources panel`, {
    include: ['#sdcc-lab-resources']
  });
  if (theme === 'light') {
    await docsImage(page, 'resources-panel');
  }

  await expect(page.locator('.jp-sdcc-RemainingTimeButton')).toHaveText(/left/);
  await checkA11y(page, `lab ${theme}: status-bar countdown`, {
    include: ['.jp-sdcc-RemainingTime']
  });

  await logCoreViolations(page, `lab ${theme}: JupyterLab with the panel open`);

  await page.menu.clickMenuItem('Help>About this Session…');
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog).toContainText('This session');
  await checkA11y(page, `lab ${theme}: About this Session dialog`, {
    include: ['.jp-Dialog']
  });
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);
}

test('the project\'s JupyterLab widgets pass axe in the light and dark theme', async ({
  page
}) => {
  await page.route(/\/sdcc-lab\/api\/workers(\?.*)?$/, route =>
    route.fulfill({
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify({ workers: WORKERS })
    })
  );
  await page.theme.setLightTheme();
  await projectWidgets(page, 'light');
  await page.theme.setDarkTheme();
  expect(await page.theme.getTheme()).toBe('JupyterLab Dark');
  await projectWidgets(page, 'dark');
});

test('the countdown is announced politely, once a minute, not every second', async ({ page }) => {
  const visible = page.locator('.jp-sdcc-RemainingTimeButton');
  const spoken = page.locator('.jp-sdcc-RemainingTime [aria-live="polite"]');
  await expect(spoken).toHaveText(/^1 h \d+ min left in this session$|^\d+ min left in this session$/);
  // Count what changes while the visible countdown ticks a few seconds.
  await spoken.evaluate(node => {
    (window as any).__spokenChanges = 0;
    new MutationObserver(() => (window as any).__spokenChanges++).observe(node, {
      childList: true,
      characterData: true,
      subtree: true
    });
  });
  const first = await visible.innerText();
  await expect.poll(() => visible.innerText()).not.toBe(first);
  const second = await visible.innerText();
  await expect.poll(() => visible.innerText()).not.toBe(second);
  // Two seconds passed: the announced text changed at most once (a minute may have ended).
  const changes = await page.evaluate(() => (window as any).__spokenChanges);
  expect(changes).toBeLessThanOrEqual(1);
  // The button itself is not a live region: screen readers do not read every second.
  expect(await visible.getAttribute('aria-live')).toBeNull();
});

