/**
 * Preview before import (issue 14), in a browser, on a real `sdcc-lab demo` portal.
 *
 * alice shares a hostile notebook: a `<script>` in a markdown cell and in an HTML
 * output, an `onerror` image, a `javascript:` link, an image from an outside
 * address, and a PNG output. bob opens the link without starting his server: the
 * link page frames the service's rendered preview, which shows the text and the
 * image; no dialog fires, no request leaves for an outside address, no script of
 * the notebook runs, and bob's server is still not running.
 */
import { expect, Page, Request, test } from '@playwright/test';

import { checkA11y } from './axe';
import { DEMO_PASSWORD } from './demo-login';

const SIGN_IN_TIMEOUT = 120000;
const PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==';

const HOSTILE = {
  nbformat: 4,
  nbformat_minor: 5,
  metadata: { kernelspec: { name: 'python3', display_name: 'Python 3' } },
  cells: [
    {
      cell_type: 'markdown',
      id: 'md',
      metadata: {},
      source:
        '# Preview heading\n\nText anyone can read.\n\n' +
        "<script>alert('markdown'); window.__ran = 1</script>\n\n" +
        '<img src=x onerror="alert(\'onerror\')">\n\n' +
        "<img src='https://outside.example/pixel.png'>\n\n" +
        "[click me](javascript:alert('link'))"
    },
    {
      cell_type: 'code',
      id: 'code',
      metadata: {},
      execution_count: 1,
      source: 'show()',
      outputs: [
        {
          output_type: 'display_data',
          metadata: {},
          data: {
            'text/html': "<b>an html output</b><script>alert('output')</script>"
          }
        },
        {
          output_type: 'display_data',
          metadata: {},
          data: { 'image/png': PNG, 'text/plain': '<Figure>' }
        }
      ]
    }
  ]
};

async function signIn(page: Page, user: string): Promise<void> {
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** alice logs in, starts a local session, saves the notebook and shares it (her server's API). */
async function aliceShares(page: Page, name: string): Promise<string> {
  await page.goto('/hub/login');
  await signIn(page, 'alice');
  const lab = /\/user\/alice\/lab/;
  await page.waitForURL(
    url => /\/hub\/spawn/.test(url.pathname) || lab.test(url.pathname),
    {
      timeout: SIGN_IN_TIMEOUT
    }
  );
  if (/\/hub\/spawn/.test(new URL(page.url()).pathname)) {
    await page.getByLabel("Run locally on the hub's node").check();
    await page.getByRole('button', { name: 'Start', exact: true }).click();
  }
  await page.waitForURL(lab, { timeout: SIGN_IN_TIMEOUT });
  await expect(page.locator('#jp-main-dock-panel')).toBeVisible({
    timeout: SIGN_IN_TIMEOUT
  });
  return page.evaluate(
    async ([path, nb]) => {
      const xsrf = decodeURIComponent(
        document.cookie.match(/(?:^|; )_xsrf=([^;]*)/)?.[1] ?? ''
      );
      const headers = {
        'X-XSRFToken': xsrf,
        'Content-Type': 'application/json'
      };
      const saved = await fetch(
        `/user/alice/api/contents/${encodeURIComponent(path as string)}`,
        {
          method: 'PUT',
          headers,
          body: JSON.stringify({
            type: 'notebook',
            format: 'json',
            content: nb
          })
        }
      );
      if (!saved.ok) {
        throw new Error(`save failed: ${saved.status}`);
      }
      const shared = await fetch('/user/alice/sdcc-lab/api/shares', {
        method: 'POST',
        headers,
        body: JSON.stringify({ path })
      });
      if (shared.status !== 201) {
        throw new Error(
          `share failed: ${shared.status} ${await shared.text()}`
        );
      }
      return (await shared.json()).url as string;
    },
    [name, HOSTILE] as const
  );
}

test('bob previews a hostile notebook: text and image shown, nothing runs or leaves, no server', async ({
  page,
  browser
}) => {
  const link = await aliceShares(page, 'preview-probe.ipynb');
  const origin = new URL(link).origin;

  const context = await browser.newContext();
  const bob = await context.newPage();
  const dialogs: string[] = [];
  const outside: string[] = [];
  bob.on('dialog', d => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  const watch = (r: Request): void => {
    const url = r.url();
    if (!url.startsWith(origin + '/') && !url.startsWith('data:')) {
      outside.push(url);
    }
  };
  context.on('request', watch);
  // Nothing may reach an outside address even if a request were made: abort and record it.
  await context.route(
    url => url.origin !== origin && url.protocol !== 'data:',
    route => route.abort()
  );

  // bob logs in but does not start a server (the spawn form is left alone).
  await bob.goto('/hub/login');
  await signIn(bob, 'bob');
  await bob.waitForURL(url => !/\/hub\/login/.test(url.pathname), {
    timeout: SIGN_IN_TIMEOUT
  });

  await bob.goto(link);
  await expect(bob.locator('body')).toContainText(
    'A notebook was shared with you',
    {
      timeout: SIGN_IN_TIMEOUT
    }
  );
  const frameEl = bob.locator('iframe.preview');
  await expect(frameEl).toHaveAttribute('sandbox', '');
  const frame = bob.frameLocator('iframe.preview');
  await expect(
    frame.getByRole('heading', { name: 'Preview heading' })
  ).toBeVisible();
  await expect(frame.locator('body')).toContainText('Text anyone can read.');
  await expect(frame.locator('body')).toContainText('an html output');
  const image = frame.locator(`img[src^="data:image/png;base64,"]`);
  await expect(image).toHaveCount(1);
  await expect(image).toBeVisible();
  expect(
    await image.evaluate((img: HTMLImageElement) => img.naturalWidth)
  ).toBe(1);
  // The javascript: link is text only; the outside image is gone.
  await expect(frame.getByText('click me')).toBeVisible();
  expect(await frame.locator('a[href^="javascript"]').count()).toBe(0);
  expect(await frame.locator('img[src*="outside.example"]').count()).toBe(0);
  await bob.screenshot({ path: 'test-results/preview-page.png' });
  // The link page (the sandboxed frame runs no script, so axe cannot enter it)...
  await checkA11y(bob, 'share service: link page with a preview', {
    exclude: ['iframe.preview']
  });
  // ...and the preview itself, opened as bob in a context that lets axe's script
  // run despite the page's sandbox (only the check needs that).
  const previewUrl = new URL(
    (await frameEl.getAttribute('src')) ?? '',
    bob.url()
  ).href;
  const axeContext = await browser.newContext({
    bypassCSP: true,
    storageState: await context.storageState()
  });
  const previewPage = await axeContext.newPage();
  await previewPage.goto(previewUrl);
  await expect(previewPage.locator('body')).toContainText(
    'Text anyone can read.'
  );
  await checkA11y(previewPage, 'share service: preview of a notebook');
  await axeContext.close();

  // Time for anything that would fire late (an onerror, a script), then look.
  await bob.waitForTimeout(1000);
  expect(dialogs).toEqual([]);
  expect(outside).toEqual([]);
  expect(await bob.evaluate(() => (window as any).__ran)).toBeUndefined();

  // bob's server was never started: the hub says so.
  await bob.goto('/hub/home');
  const servers = await bob.evaluate(async () => {
    const xsrf = (window as any).jhdata?.xsrf_token ?? '';
    const r = await fetch('/hub/api/user', {
      headers: { 'X-XSRFToken': xsrf }
    });
    if (!r.ok) {
      throw new Error(`hub api: ${r.status}`);
    }
    return (await r.json()).servers ?? {};
  });
  expect(servers['']).toBeUndefined();
  await context.close();
});
