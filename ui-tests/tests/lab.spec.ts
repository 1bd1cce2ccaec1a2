/**
 * The session plugin in JupyterLab (project `lab`): the check at load that the
 * server extension answers, and Help → About this Session….
 *
 * Each test loads JupyterLab again with a watch on the info call that the load
 * makes, and waits for its answer: what the page shows is checked after the
 * call came back, however long it took.
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import type { Response } from '@playwright/test';

const INFO = /\/sdcc-lab\/api\/info(\?.*)?$/;
const WARNING = '.jp-Notification-Toast-warning';

/** Load JupyterLab again; the answer of the info call of that load. */
async function reloadForInfo(page: IJupyterLabPageFixture): Promise<Response> {
  const answer = page.waitForResponse(response => INFO.test(response.url()));
  await page.reload();
  const response = await answer;
  await response.finished();
  return response;
}

test.describe('sdcc_lab in JupyterLab', () => {
  test('the server extension answers: About shows the session, no warning', async ({
    page
  }) => {
    const response = await reloadForInfo(page);
    expect(response.status()).toBe(200);
    const info = await response.json();

    // The dialog shows the answer of that same call (the model keeps it), so
    // once it shows, the load's check of that answer has run.
    await page.menu.clickMenuItem('Help>About this Session…');
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog).toContainText('This session');
    await expect(dialog.locator('tr', { hasText: 'Where' })).toContainText(
      'Local session on the hub node'
    );
    await expect(
      dialog.locator('tr', { hasText: 'sdcc_lab version' })
    ).toContainText(info.version);
    await expect(page.locator(WARNING)).toHaveCount(0);
    await dialog.getByRole('button', { name: 'Close' }).click();
    await expect(dialog).toHaveCount(0);
  });

  test('without the server extension, a warning says how to fix it', async ({
    page
  }) => {
    // What a server without sdcc_lab's extension answers.
    await page.route(INFO, route =>
      route.fulfill({
        status: 404,
        contentType: 'application/json',
        body: JSON.stringify({ message: 'Not Found' })
      })
    );
    const response = await reloadForInfo(page);
    expect(response.status()).toBe(404);
    const warning = page.locator(WARNING, {
      hasText: 'The sdcc_lab server extension did not answer (Not Found)'
    });
    await expect(warning).toBeVisible();
    // The toast shows the start of the message (JupyterLab cuts long ones).
    await expect(warning).toContainText(
      'Check that the sdcc_lab package is installed'
    );
  });

  test('the countdown sits on the status bar’s baseline, like its neighbours', async ({
    page
  }) => {
    // The UI-test session has an end (ui-tests/sdcc_lab_fixed_end.py).
    const countdown = page.locator('.jp-sdcc-RemainingTimeButton');
    await expect(countdown).toHaveText(/\d+:\d\d:\d\d left/);
    // Each visible text of the status bar: its baseline (the bottom of an
    // empty inline-block put after the text) and its text's box.
    const boxes = await page.evaluate(() => {
      const measure = (el: Element) => {
        const range = document.createRange();
        range.selectNodeContents(el);
        const text = range.getBoundingClientRect();
        const probe = document.createElement('span');
        probe.style.display = 'inline-block';
        probe.style.width = '0';
        probe.style.height = '0';
        el.appendChild(probe);
        const baseline = probe.getBoundingClientRect().bottom;
        probe.remove();
        return {
          name: (el as HTMLElement).innerText.trim(),
          baseline,
          top: text.top,
          bottom: text.bottom,
          mine: el.classList.contains('jp-sdcc-RemainingTimeButton')
        };
      };
      return [
        ...document.querySelectorAll(
          '.jp-StatusBar-Left .jp-StatusBar-TextItem, .jp-sdcc-RemainingTimeButton'
        )
      ]
        .filter(el => (el as HTMLElement).offsetParent !== null)
        .filter(el => (el as HTMLElement).innerText.trim() !== '')
        .map(measure);
    });
    const mine = boxes.find(b => b.mine);
    const others = boxes.filter(b => !b.mine);
    expect(mine).toBeDefined();
    expect(others.length).toBeGreaterThan(0);
    for (const other of others) {
      const where = `${mine!.name} vs ${other.name}: ${JSON.stringify([mine, other])}`;
      expect(
        Math.abs(mine!.baseline - other.baseline),
        where
      ).toBeLessThanOrEqual(1);
      expect(Math.abs(mine!.top - other.top), where).toBeLessThanOrEqual(1);
      expect(Math.abs(mine!.bottom - other.bottom), where).toBeLessThanOrEqual(
        1
      );
    }
  });
});
