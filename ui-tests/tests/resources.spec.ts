/**
 * The Session resources panel in JupyterLab (project `lab`).
 *
 * The UI-test server's session ends 90 minutes after it started (the
 * TEST-ONLY server extension ui-tests/sdcc_lab_fixed_end.py); the
 * tests move the warning and auto-save thresholds above that through mocked
 * settings. JupyterLab's own auto-save is off, so only ours can save.
 */
import {
  expect,
  galata,
  IJupyterLabPageFixture,
  test
} from '@jupyterlab/galata';

import { checkA11y } from './axe';

const PLUGIN = 'sdcc-lab:resources';
const NO_LAB_AUTOSAVE = {
  '@jupyterlab/docmanager-extension:plugin': { autosave: false }
};

function countdownSeconds(text: string): number {
  const m = /(?:(\d+) d )?(\d+):(\d\d):(\d\d) left/.exec(text);
  if (!m) {
    throw new Error(`no countdown in ${JSON.stringify(text)}`);
  }
  return (
    Number(m[1] ?? 0) * 86400 +
    Number(m[2]) * 3600 +
    Number(m[3]) * 60 +
    Number(m[4])
  );
}

async function dirtyNotebook(
  page: IJupyterLabPageFixture,
  name: string,
  text: string
): Promise<void> {
  await page.notebook.createNew(name);
  await page.notebook.setCell(0, 'code', text);
  await expect(page.locator('.jp-mod-current.jp-mod-dirty')).toHaveCount(1);
}

async function savedSource(
  page: IJupyterLabPageFixture,
  path: string
): Promise<string> {
  const response = await page.request.get(`/api/contents/${path}?content=1`);
  expect(response.ok()).toBe(true);
  const model = await response.json();
  return model.content.cells
    .map((c: { source: string }) => c.source)
    .join('\n');
}

test.describe('Session resources', () => {
  test.use({
    mockSettings: { ...galata.DEFAULT_SETTINGS, ...NO_LAB_AUTOSAVE }
  });

  test('the panel opens and shows the countdown, limits and usage', async ({
    page
  }) => {
    await page.sidebar.openTab('sdcc-lab-resources');
    const panel = page.getByRole('region', { name: 'Session resources' });
    await expect(panel).toBeVisible();
    await expect(panel).toContainText('Local session on the hub node');
    const timer = panel.getByRole('timer', { name: 'Time remaining' });
    await expect(timer).toHaveText(/\d+:\d\d:\d\d left/);
    const first = countdownSeconds(await timer.innerText());
    expect(first).toBeGreaterThan(60 * 60);
    expect(first).toBeLessThanOrEqual(90 * 60);
    // It counts down (the next second shows), and stays on the same end.
    await expect
      .poll(async () => countdownSeconds(await timer.innerText()))
      .toBeLessThan(first);
    expect(countdownSeconds(await timer.innerText())).toBeGreaterThan(60 * 60);
    // memory of the session against the host's memory, as an accessible bar
    const memory = panel.getByRole('progressbar', { name: 'Memory' });
    await expect(memory).toHaveAttribute('aria-valuenow', /^\d+$/);
    await expect(panel).toContainText('Limits from: host');
    // the status bar counts down too
    await expect(page.locator('.jp-sdcc-RemainingTimeButton')).toHaveText(
      /\d+:\d\d:\d\d left/
    );
  });

  test.describe('near the end', () => {
    test.use({
      mockSettings: {
        ...galata.DEFAULT_SETTINGS,
        ...NO_LAB_AUTOSAVE,
        [PLUGIN]: { warningMinutes: [120], autosave: false }
      }
    });

    test('a warning appears and Save all saves a notebook', async ({
      page,
      tmpPath
    }) => {
      await dirtyNotebook(page, 'warned.ipynb', 'print("saved by Save all")');
      const toast = page.locator('.jp-Notification-Toast-warning', {
        hasText: 'This session ends in'
      });
      await expect(toast).toBeVisible({ timeout: 20000 });
      await expect(page.locator('.jp-mod-current.jp-mod-dirty')).toHaveCount(1);
      // A poll may replace the toast while it is clicked: click the current one again then.
      await expect(async () => {
        await toast
          .last()
          .getByRole('button', { name: 'Save all' })
          .click({ timeout: 2000 });
        await expect(page.locator('.jp-mod-current.jp-mod-dirty')).toHaveCount(
          0,
          { timeout: 3000 }
        );
      }).toPass({ timeout: 20000 });
      expect(await savedSource(page, `${tmpPath}/warned.ipynb`)).toContain(
        'saved by Save all'
      );
    });
  });

  test.describe('auto-save', () => {
    test.use({
      mockSettings: {
        ...galata.DEFAULT_SETTINGS,
        ...NO_LAB_AUTOSAVE,
        [PLUGIN]: { warningMinutes: [], autosave: true, autosaveMinutes: 120 }
      }
    });

    test('saves a notebook with unsaved changes on its own', async ({
      page,
      tmpPath
    }) => {
      await dirtyNotebook(page, 'autosaved.ipynb', 'print("saved on its own")');
      await expect(page.locator('.jp-mod-current.jp-mod-dirty')).toHaveCount(
        0,
        { timeout: 25000 }
      );
      expect(await savedSource(page, `${tmpPath}/autosaved.ipynb`)).toContain(
        'saved on its own'
      );
      await expect(
        page.locator('.jp-Notification-Toast-info', {
          hasText: 'saved automatically'
        })
      ).toBeVisible();
    });
  });

  test.describe('without warnings or auto-save', () => {
    test.use({
      mockSettings: {
        ...galata.DEFAULT_SETTINGS,
        ...NO_LAB_AUTOSAVE,
        [PLUGIN]: { warningMinutes: [], autosave: false }
      }
    });

    test('a dirty notebook stays dirty (the savers above are ours)', async ({
      page,
      tmpPath
    }) => {
      await dirtyNotebook(page, 'untouched.ipynb', 'print("not saved")');
      // Each second of the countdown runs the end-of-job check (which warns
      // and auto-saves when enabled); auto-save runs at most every 10 s. Once
      // the status bar has counted 12 s down with the notebook dirty, our
      // savers had their turn.
      const status = page.locator('.jp-sdcc-RemainingTimeButton');
      const start = countdownSeconds(await status.innerText());
      await expect
        .poll(async () => countdownSeconds(await status.innerText()), {
          timeout: 30000
        })
        .toBeLessThanOrEqual(start - 12);
      await expect(page.locator('.jp-mod-current.jp-mod-dirty')).toHaveCount(1);
      expect(
        await savedSource(page, `${tmpPath}/untouched.ipynb`)
      ).not.toContain('not saved');
    });
  });

  test.describe('kernels and memory', () => {
    test.use({
      mockSettings: {
        ...galata.DEFAULT_SETTINGS,
        ...NO_LAB_AUTOSAVE,
        // no warning until the test sets the share below what the session uses
        [PLUGIN]: {
          warningMinutes: [],
          autosave: false,
          memoryWarningPercent: 100
        }
      }
    });

    test('the kernel table names each notebook, marks the peak, and the memory warning names the notebook using most', async ({
      page
    }) => {
      await page.sidebar.openTab('sdcc-lab-resources');
      const panel = page.getByRole('region', { name: 'Session resources' });
      // Notebooks that name their kernel open without JupyterLab's kernel dialog.
      const notebook = JSON.stringify({
        cells: [
          {
            cell_type: 'code',
            source: '',
            metadata: {},
            outputs: [],
            execution_count: null
          }
        ],
        metadata: {
          kernelspec: {
            name: 'python3',
            display_name: 'Python 3 (ipykernel)',
            language: 'python'
          }
        },
        nbformat: 4,
        nbformat_minor: 5
      });
      await page.contents.uploadContent(notebook, 'text', 'light.ipynb');
      await page.contents.uploadContent(notebook, 'text', 'hungry.ipynb');
      const open = async (path: string): Promise<void> => {
        await page.evaluate(async p => {
          await (window as any).jupyterapp.commands.execute('docmanager:open', {
            path: p
          });
        }, path);
        await expect
          .poll(() => page.notebook.isOpen(path), { timeout: 30000 })
          .toBe(true);
        await page.notebook.activate(path);
      };
      await open('light.ipynb');
      await page.notebook.setCell(0, 'code', 'x = 1');
      await page.notebook.run();
      await open('hungry.ipynb');
      // bytes written page by page: resident memory of that kernel
      await page.notebook.setCell(0, 'code', "held = b'\\x01' * (300 << 20)");
      await page.notebook.run();

      const table = panel.locator('.jp-sdcc-KernelTable');
      const hungry = table.getByRole('row', { name: /hungry\.ipynb/ });
      await expect(hungry).toBeVisible({ timeout: 20000 });
      await expect(
        table.getByRole('row', { name: /light\.ipynb/ })
      ).toBeVisible();
      await expect(hungry).toHaveClass(/jp-sdcc-mod-peak/);
      await expect(hungry).toContainText('(highest)');
      await checkA11y(
        page,
        'lab light: Session resources panel with the kernel table',
        {
          include: ['#sdcc-lab-resources']
        }
      );
      await expect(hungry).toContainText(
        /\d+(\.\d+)? MB|\d+(\.\d+)? GB|MiB|GiB/
      );

      // The share just under what the session uses now: the next poll crosses it.
      const data = await (
        await page.request.get('/sdcc-lab/api/resources')
      ).json();
      const percent =
        (data.usage.memory_bytes / data.allocation.memory_bytes) * 100 * 0.9;
      await page.evaluate(
        async ({ plugin, value }) => {
          const registry = await (window as any).galata.getPlugin(
            '@jupyterlab/apputils-extension:settings'
          );
          await registry.set(plugin, 'memoryWarningPercent', value);
        },
        { plugin: PLUGIN, value: percent }
      );
      const toast = page.locator('.jp-Notification-Toast-warning', {
        hasText: 'uses most'
      });
      await expect(toast).toBeVisible({ timeout: 20000 });
      await expect(toast).toContainText('hungry.ipynb uses most');
      await expect(
        toast.getByRole('button', { name: 'Save all' })
      ).toBeVisible();
    });
  });
});
