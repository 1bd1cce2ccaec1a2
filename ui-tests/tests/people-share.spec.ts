/**
 * Names completed from the hub, in a browser, on a real `sdcc-lab demo` portal
 * (alice, bob, carol; the hub group physics): alice types "b" in the share
 * dialog's Users field, bob is offered, she picks him with the keyboard, and
 * the link is for bob only; in Groups "phy" offers physics, marked as a group.
 * The Share folder dialog has the same field: alice's folder link for bob is
 * refused to carol with a 403 page naming alice.
 *
 * (Named people-share.spec.ts so that the portal project's pattern, which
 * matches *share.spec.ts, runs it.)
 */
import { expect, Page, test } from '@playwright/test';

import { checkA11y } from './axe';
import { DEMO_PASSWORD } from './demo-login';

const SIGN_IN = 120000;
const FOLDER = 'for-bob-only';

async function signIn(page: Page, user: string): Promise<void> {
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function logIn(page: Page, user: string): Promise<void> {
  await page.goto('/hub/login');
  await signIn(page, user);
  const lab = new RegExp(`/user/${user}/lab`);
  await page.waitForURL(
    u => /\/hub\/spawn/.test(u.pathname) || lab.test(u.pathname),
    { timeout: SIGN_IN }
  );
  if (/\/hub\/spawn/.test(new URL(page.url()).pathname)) {
    await page.getByLabel("Run locally on the hub's node").check();
    await page.getByRole('button', { name: 'Start', exact: true }).click();
  }
  await page.waitForURL(lab, { timeout: SIGN_IN });
  await expect(page.locator('#jp-main-dock-panel')).toBeVisible({
    timeout: SIGN_IN
  });
}

/** A call of the user's own server, as JupyterLab makes it (with its _xsrf). */
async function serverCall(
  page: Page,
  method: string,
  path: string,
  body?: unknown
): Promise<any> {
  return page.evaluate(
    async ([method, path, body]) => {
      const xsrf = document.cookie.match(/(?:^|; )_xsrf=([^;]*)/)?.[1] ?? '';
      const base = location.pathname.match(/^\/user\/[^/]+\//)?.[0] ?? '/';
      const r = await fetch(base + (path as string), {
        method: method as string,
        headers: {
          'X-XSRFToken': decodeURIComponent(xsrf),
          'Content-Type': 'application/json'
        },
        body: body === undefined ? undefined : JSON.stringify(body)
      });
      if (!r.ok) {
        throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
      }
      return r.status === 204 ? null : r.json();
    },
    [method, path, body] as const
  );
}

function notebook(source: string): unknown {
  return {
    type: 'notebook',
    format: 'json',
    content: {
      cells: [
        {
          cell_type: 'code',
          source,
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
    }
  };
}

test('alice picks bob from the hub’s names; a folder for bob is refused to carol', async ({
  page,
  browser
}) => {
  test.setTimeout(360000);
  await logIn(page, 'alice');
  await serverCall(page, 'PUT', 'api/contents/picked.ipynb', notebook('x = 1'));
  await serverCall(page, 'PUT', `api/contents/${FOLDER}`, {
    type: 'directory'
  });
  await serverCall(
    page,
    'PUT',
    `api/contents/${FOLDER}/a.ipynb`,
    notebook('a = 1')
  );
  await page.reload();
  await expect(page.locator('#jp-main-dock-panel')).toBeVisible({
    timeout: SIGN_IN
  });

  // Share notebook…: "b" offers bob; the keyboard picks him.
  await page
    .locator('.jp-DirListing-item[data-file-type="notebook"]', {
      hasText: 'picked.ipynb'
    })
    .first()
    .click({ button: 'right' });
  await page.getByRole('menuitem', { name: 'Share notebook…' }).click();
  const dialog = page.locator('.jp-Dialog');
  const users = dialog.getByRole('combobox', { name: 'Users' });
  await users.pressSequentially('b');
  const offered = dialog.getByRole('listbox', { name: 'Users on the hub' });
  await expect(offered.getByRole('option', { name: 'bob' })).toBeVisible({
    timeout: 15000
  });
  await expect(users).toHaveAttribute('aria-expanded', 'true');
  await expect(offered.getByRole('option')).toHaveText(['bob']);
  await checkA11y(page, 'lab light: share dialog with name suggestions open', {
    include: ['.jp-Dialog']
  });
  await page.screenshot({ path: 'test-results/audience-suggestions.png' });
  await users.press('ArrowDown');
  await expect(offered.getByRole('option', { name: 'bob' })).toHaveAttribute(
    'aria-selected',
    'true'
  );
  await users.press('Enter'); // picks; the dialog stays open
  await expect(users).toHaveValue('bob, ');
  await expect(offered).toBeHidden();
  await expect(dialog).toBeVisible();
  await expect(
    dialog.getByLabel('Only these people and groups:')
  ).toBeChecked();
  // Groups: "phy" offers physics, marked as a group.
  const groups = dialog.getByRole('combobox', { name: 'Groups' });
  await groups.pressSequentially('phy');
  const offeredGroups = dialog.getByRole('listbox', {
    name: 'Groups on the hub'
  });
  await expect(offeredGroups.getByRole('option')).toHaveText(
    ['physics group'],
    { timeout: 15000 }
  );
  await groups.press('Escape'); // closes the list, not the dialog
  await expect(offeredGroups).toBeHidden();
  await expect(dialog).toBeVisible();
  await groups.fill('');
  await dialog.getByRole('button', { name: 'Create link' }).click();
  await expect(dialog.getByLabel('Share link')).toHaveValue(
    /\/services\/share\/open#/
  );
  await expect(dialog).toContainText('Only for: bob.');
  await dialog.getByRole('button', { name: 'Close' }).click();
  const { shares } = await serverCall(page, 'GET', 'sdcc-lab/api/shares');
  const made = shares.find((s: any) => s.path === 'picked.ipynb');
  expect(made.audience).toEqual({ users: ['bob'], groups: [] });

  // Share folder…: the same field; the folder's link is for bob only.
  await page
    .locator('.jp-DirListing-item[data-isdir="true"]', { hasText: FOLDER })
    .first()
    .click({ button: 'right' });
  await page.getByRole('menuitem', { name: 'Share folder…' }).click();
  const folderDialog = page.locator('.jp-Dialog');
  const folderUsers = folderDialog.getByRole('combobox', { name: 'Users' });
  await folderUsers.pressSequentially('bo');
  await folderDialog
    .getByRole('listbox', { name: 'Users on the hub' })
    .getByRole('option', { name: 'bob' })
    .click();
  await expect(folderUsers).toHaveValue('bob, ');
  await folderDialog.getByRole('button', { name: 'Create link' }).click();
  const link = folderDialog.getByLabel('Share link');
  await expect(link).toHaveValue(/\/services\/share\/open#/);
  await expect(folderDialog).toContainText('Only for: bob.');
  await checkA11y(page, 'lab light: Share folder dialog with an audience', {
    include: ['.jp-Dialog']
  });
  const url = await link.inputValue();
  await folderDialog.getByRole('button', { name: 'Close' }).click();

  // carol opens it: 403, naming alice; no way on.
  const carol = await (await browser.newContext()).newPage();
  await carol.goto(url);
  const username = carol.getByLabel('Username');
  const refused = carol.getByText(
    'alice shared this folder with named people only, and carol is not one of them.'
  );
  await expect(refused.or(username)).toBeVisible({ timeout: SIGN_IN });
  if (await username.isVisible()) {
    await signIn(carol, 'carol');
  }
  await expect(refused).toBeVisible({ timeout: SIGN_IN });
  await expect(carol.getByRole('link', { name: /Continue to my/ })).toHaveCount(
    0
  );
  await carol.screenshot({ path: 'test-results/audience-folder-refused.png' });
});
