/**
 * Logging in to the demo portal, for the accessibility and keyboard specs:
 * the hub's login form, then its spawn form (a local session) or JupyterLab.
 */
import { expect, Locator, Page } from '@playwright/test';

import { DEMO_PASSWORD } from './demo-login';

export const SIGN_IN_TIMEOUT = 120000;

export async function signIn(page: Page, user: string): Promise<void> {
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** After the hub's login: the spawn form (pick a local session) or JupyterLab. */
export async function throughSpawnForm(page: Page, user: string): Promise<void> {
  const lab = new RegExp(`/user/${user}/lab`);
  await page.waitForURL(url => /\/hub\/spawn/.test(url.pathname) || lab.test(url.pathname), {
    timeout: SIGN_IN_TIMEOUT
  });
  if (/\/hub\/spawn/.test(new URL(page.url()).pathname)) {
    await page.getByLabel("Run locally on the hub's node").check();
    await page.getByRole('button', { name: 'Start', exact: true }).click();
  }
  await page.waitForURL(lab, { timeout: SIGN_IN_TIMEOUT });
  await expect(page.locator('#jp-main-dock-panel')).toBeVisible({ timeout: SIGN_IN_TIMEOUT });
}

/** The hub's XSRF cookie, for the hub's REST API from a test. */
export async function hubXsrf(page: Page): Promise<string> {
  const cookies = await page.context().cookies();
  return cookies.find(c => c.name === '_xsrf' && c.path === '/hub/')?.value ?? '';
}

/** A call to the user's server (relative to JupyterLab's page), with its XSRF token. */
export async function serverCall(
  page: Page,
  method: string,
  url: string,
  body?: unknown
): Promise<any> {
  return page.evaluate(
    async ({ method, url, body }) => {
      const xsrf = document.cookie.match(/(?:^|; )_xsrf=([^;]*)/)?.[1] ?? '';
      // Relative to the server's base URL (/user/NAME/), whatever page of JupyterLab this is.
      const config = document.getElementById('jupyter-config-data')?.textContent ?? '{}';
      const base = new URL(JSON.parse(config).baseUrl ?? '/', location.href);
      const r = await fetch(new URL(url, base), {
        method,
        headers: { 'X-XSRFToken': decodeURIComponent(xsrf), 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body)
      });
      if (!r.ok) {
        throw new Error(`${method} ${url}: ${r.status} ${await r.text()}`);
      }
      return r.status === 204 ? null : r.json();
    },
    { method, url, body }
  );
}

/** Switch this user's JupyterLab theme (their setting, as the Settings menu does) and reload. */
export async function setLabTheme(page: Page, theme: string): Promise<void> {
  await serverCall(page, 'PUT', 'lab/api/settings/@jupyterlab/apputils-extension:themes', {
    raw: JSON.stringify({ theme })
  });
  await page.reload();
  await expect(page.locator('#jp-main-dock-panel')).toBeVisible({ timeout: SIGN_IN_TIMEOUT });
  await expect(page.locator('body')).toHaveAttribute('data-jp-theme-name', theme);
}

/** A copy of welcome.ipynb under another name, through the Contents API. */
export async function copyNotebook(page: Page, name: string): Promise<void> {
  const model = await serverCall(page, 'GET', 'api/contents/welcome.ipynb?content=1');
  await serverCall(page, 'PUT', `api/contents/${encodeURIComponent(name)}`, {
    type: 'notebook',
    format: 'json',
    content: model.content
  });
}

/** After the hub's login: stop a session an earlier spec left running (the hub API), then the form. */
export async function formAfterLogin(page: Page, user: string): Promise<void> {
  await page.waitForURL(/\/(hub\/spawn|user\/)/, { timeout: SIGN_IN_TIMEOUT });
  if (!/\/hub\/spawn/.test(page.url())) {
    const headers = { 'X-XSRFToken': await hubXsrf(page) };
    const stopped = await page.request.delete(`/hub/api/users/${user}/server`, { headers });
    expect([202, 204]).toContain(stopped.status());
    await expect
      .poll(
        async () => {
          const model = await page.request.get(`/hub/api/users/${user}`, { headers });
          return Object.keys((await model.json()).servers ?? {}).length;
        },
        { timeout: 60000 }
      )
      .toBe(0);
    await page.goto('/hub/spawn');
  }
  await expect(page.locator('#sdcc-spawn-form')).toBeVisible();
}

/** Log in and reach the spawn form, stopping a server an earlier spec left running. */
export async function toSpawnForm(page: Page, user: string): Promise<void> {
  await page.goto('/hub/login');
  await signIn(page, user);
  await formAfterLogin(page, user);
}

/** Log in and start a fresh local session (one an earlier spec left is stopped first). */
export async function startLocalSession(page: Page, user: string): Promise<void> {
  await toSpawnForm(page, user);
  await page.getByLabel("Run locally on the hub's node").check();
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await page.waitForURL(new RegExp(`/user/${user}/lab`), { timeout: SIGN_IN_TIMEOUT });
  await expect(page.locator('#jp-main-dock-panel')).toBeVisible({ timeout: SIGN_IN_TIMEOUT });
}

/** The Session resources panel, opened unless the restored workspace has it open already. */
export async function showResources(page: Page): Promise<Locator> {
  const panel = page.getByRole('region', { name: 'Session resources' });
  if (!(await panel.isVisible())) {
    await page.getByRole('tab', { name: 'Session resources' }).click();
  }
  await expect(panel).toBeVisible();
  return panel;
}
