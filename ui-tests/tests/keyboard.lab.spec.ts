/**
 * The project's JupyterLab parts with the keyboard alone (project `lab`): after
 * the page loads only `page.keyboard` is used (no clicks).
 * - the status-bar countdown opens Session resources, and the keyboard lands
 *   in the panel; a Dask worker job is cancelled from there (the server's
 *   answers for `sdcc-lab/api/workers` are replaced, as in workers.spec.ts: a
 *   local session has none);
 * - "Save All Documents Before the Job Ends" from the command palette saves a
 *   notebook with unsaved changes.
 * The session ends 90 minutes after the server started (sdcc_lab_fixed_end.py).
 */
import { expect, galata, test } from '@jupyterlab/galata';

import { focusMatches, palette, tabTo } from './keyboard';

test.use({
  mockSettings: {
    ...galata.DEFAULT_SETTINGS,
    '@jupyterlab/docmanager-extension:plugin': { autosave: false }
  }
});

test('the countdown opens the panel; a worker job is cancelled with the keyboard', async ({
  page
}) => {
  let workers = ['701', '702'].map(id => ({
    id, name: 'dask-alice-12', state: 'RUNNING', reason: null, cpus: 1,
    memory_bytes: 2 * 1024 ** 3, gpus: 0, partition: 'gpu'
  }));
  const deleted: string[] = [];
  await page.route(/\/sdcc-lab\/api\/workers(\/[^/?]+)?(\?.*)?$/, async route => {
    const request = route.request();
    if (request.method() === 'DELETE') {
      const id = decodeURIComponent(new URL(request.url()).pathname.split('/').pop() ?? '');
      deleted.push(id);
      workers = workers.filter(w => w.id !== id);
      await route.fulfill({ status: 204, body: '' });
    } else {
      await route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ workers }) });
    }
  });
  const countdown = page.locator('.jp-sdcc-RemainingTimeButton');
  await expect(countdown).toHaveText(/left/);

  // The status bar is at the end of the page's tab order.
  await tabTo(page, '.jp-sdcc-RemainingTimeButton', { key: 'Shift+Tab', max: 80 });
  await page.keyboard.press('Enter');
  const panel = page.getByRole('region', { name: 'Session resources' });
  await expect(panel).toBeVisible();
  await expect(panel).toBeFocused();

  const section = panel.locator('.jp-sdcc-Workers');
  await expect(section).toContainText('702');
  await tabTo(page, 'button[aria-label="Cancel worker job 701"]');
  await page.keyboard.press('Enter');
  await expect(section).not.toContainText('701');
  expect(deleted).toEqual(['701']);
  // The focus stayed in the panel: Tab goes on to the next worker's button.
  await expect.poll(() => page.evaluate(() => !!document.activeElement?.closest('.jp-sdcc-Workers'))).toBe(true);
  await tabTo(page, 'button[aria-label="Cancel worker job 702"]', { max: 5 });
  await page.keyboard.press('Enter');
  await expect(section).toHaveCount(0);
  expect(deleted).toEqual(['701', '702']);
  expect(await focusMatches(page, '.jp-sdcc-ResourcesPanel')).toBe(true);
});

test('Save all from the command palette saves unsaved changes', async ({ page, tmpPath }) => {
  // JupyterLab may ask for the kernel a moment after the notebook shows: take
  // the default whenever that dialog appears, before any later step.
  await page.addLocatorHandler(page.locator('.jp-Dialog').filter({ hasText: 'Select kernel' }), async () => {
    await page.keyboard.press('Enter');
  });
  await palette(page, 'New Notebook');
  const cell = page.locator('.jp-Notebook .jp-Cell').first();
  await expect(cell).toBeVisible();
  if (!(await page.locator('.jp-Notebook.jp-mod-editMode').count())) {
    await page.keyboard.press('Enter'); // edit mode
  }
  await expect(page.locator('.jp-Notebook.jp-mod-editMode')).toHaveCount(1);
  // Plain words: no bracket or quote for the editor to close by itself.
  await page.keyboard.type('answer = 42  # saved from the keyboard');
  // Command mode (a first Escape may only close the editor's completer): the
  // palette's shortcut reaches JupyterLab from there.
  for (let i = 0; i < 3 && !(await page.locator('.jp-Notebook.jp-mod-commandMode').count()); i++) {
    await page.keyboard.press('Escape');
  }
  await expect(page.locator('.jp-Notebook.jp-mod-commandMode')).toHaveCount(1);
  await expect(page.locator('.jp-mod-current.jp-mod-dirty')).toHaveCount(1);
  const name = (await page.locator('.lm-TabBar-tab.jp-mod-current .lm-TabBar-tabLabel').textContent()) ?? '';

  await palette(page, 'Save All Documents Before the Job Ends');
  await expect(page.locator('.jp-mod-current.jp-mod-dirty')).toHaveCount(0);
  const response = await page.request.get(`/api/contents/${tmpPath}/${name.trim()}?content=1`);
  expect(response.ok()).toBe(true);
  const model = await response.json();
  expect(model.content.cells[0].source).toContain('saved from the keyboard');
});
