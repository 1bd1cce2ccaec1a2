/**
 * Jupyter Notebook 7, on a real `sdcc-lab demo` portal: the user's server
 * serves Notebook 7's tree (/tree) and notebook (/notebooks/…) views beside
 * JupyterLab (the `notebook` package in the test and job environments).
 *
 * alice shares a notebook from the tree view's context menu and from the
 * notebook view's File menu; bob follows the link to his own tree view
 * (`?next=/hub/user-redirect/tree`: the way a site whose users work in
 * Notebook 7 hands out links), imports it and gets alice's cells; the
 * Session resources panel opens in the notebook view's right side panel.
 * Needs the real share service: hence the portal project, not `lab`.
 */
import { Browser, expect, Page, test } from '@playwright/test';

import { checkA11y } from './axe';
import { DEMO_PASSWORD } from './demo-login';

const SIGN_IN_TIMEOUT = 120000;

async function signIn(page: Page, user: string): Promise<void> {
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** After the hub's login: the spawn form (a local session), then the server's `view`. */
async function throughSpawnForm(
  page: Page,
  user: string,
  view: RegExp
): Promise<void> {
  await page.waitForURL(
    url => /\/hub\/spawn/.test(url.pathname) || view.test(url.pathname),
    {
      timeout: SIGN_IN_TIMEOUT
    }
  );
  if (/\/hub\/spawn/.test(new URL(page.url()).pathname)) {
    await page.getByLabel("Run locally on the hub's node").check();
    await page.getByRole('button', { name: 'Start', exact: true }).click();
  }
  await page.waitForURL(view, { timeout: SIGN_IN_TIMEOUT });
}

async function newPage(browser: Browser): Promise<Page> {
  return (await browser.newContext()).newPage();
}

/** Notebook 7's tree view of `user`, its file list shown. */
async function openTree(page: Page, user: string): Promise<void> {
  await page.goto(`/user/${user}/tree`);
  await expect(
    page.locator('.jp-DirListing-item', { hasText: 'welcome.ipynb' })
  ).toBeVisible({
    timeout: SIGN_IN_TIMEOUT
  });
  expect(await notebookPage(page)).toBe('tree');
}

/** Which Notebook 7 page this is (its page config's `notebookPage`); JupyterLab has none. */
async function notebookPage(page: Page): Promise<string | undefined> {
  return page.evaluate(() => {
    const config =
      document.getElementById('jupyter-config-data')?.textContent ?? '{}';
    return JSON.parse(config).notebookPage;
  });
}

test('Notebook 7: share from the tree view, import from a link, the resources panel', async ({
  page,
  browser
}) => {
  test.setTimeout(360000); // two users start a server each
  await page.goto('/hub/login');
  await signIn(page, 'alice');
  await throughSpawnForm(page, 'alice', /\/user\/alice\/lab/);
  await openTree(page, 'alice');

  // Tree view: right-click → Share notebook… → a link.
  await page.screenshot({ path: 'test-results/notebook7-tree.png' });
  await page
    .locator('.jp-DirListing-item[data-file-type="notebook"]', {
      hasText: 'welcome.ipynb'
    })
    .first()
    .click({ button: 'right' });
  await page.getByRole('menuitem', { name: 'Share notebook…' }).click();
  let dialog = page.locator('.jp-Dialog');
  await expect(dialog).toContainText('Notebook: welcome.ipynb');
  await dialog.getByRole('button', { name: 'Create link' }).click();
  const field = dialog.getByLabel('Share link');
  await expect(field).toHaveValue(
    /\/services\/share\/open#[A-Za-z0-9_.-]{16,}$/
  );
  const link = await field.inputValue();
  await dialog.getByRole('button', { name: 'Close' }).click();

  // Notebook view: File → Share notebook… names the open notebook.
  await page.goto('/user/alice/notebooks/welcome.ipynb');
  await expect(page.locator('.jp-Notebook')).toContainText(
    'Welcome to the sdcc_lab demo portal',
    {
      timeout: 60000
    }
  );
  expect(await notebookPage(page)).toBe('notebooks');
  await page.screenshot({ path: 'test-results/notebook7-notebook.png' });
  await page.getByRole('menuitem', { name: 'File' }).click();
  await page.getByRole('menuitem', { name: 'Share notebook…' }).click();
  dialog = page.locator('.jp-Dialog');
  await expect(dialog).toContainText('Notebook: welcome.ipynb');
  await dialog.getByRole('button', { name: 'Close' }).click();

  // The Session resources panel, from the View menu, in the right side panel.
  await page.getByRole('menuitem', { name: 'View' }).click();
  await page.getByRole('menuitem', { name: 'Show Session Resources' }).click();
  const panel = page.locator('#sdcc-lab-resources');
  await expect(panel).toBeVisible();
  await expect(panel).toContainText('Session resources');
  await expect(panel).toContainText('Local session on the hub node');
  await page.screenshot({ path: 'test-results/notebook7-resources.png' });

  // bob: the link, with Notebook 7's tree as where to continue.
  const bob = await newPage(browser);
  const url = new URL(link);
  await bob.goto(
    `${url.origin}${url.pathname}?next=/hub/user-redirect/tree${url.hash}`
  );
  const username = bob.getByLabel('Username');
  const shared = bob.getByText('A notebook was shared with you');
  await expect(shared.or(username)).toBeVisible({ timeout: SIGN_IN_TIMEOUT });
  if (await username.isVisible()) {
    await signIn(bob, 'bob');
  }
  await expect(bob.locator('body')).toContainText(
    'A notebook was shared with you',
    {
      timeout: SIGN_IN_TIMEOUT
    }
  );
  await bob
    .getByRole('link', { name: 'Continue to my Jupyter Notebook' })
    .click();
  await throughSpawnForm(bob, 'bob', /\/user\/bob\/tree/);
  expect(await notebookPage(bob)).toBe('tree');
  const importDialog = bob.locator('.jp-Dialog');
  await expect(importDialog).toContainText('Import a shared notebook', {
    timeout: 60000
  });
  await expect(importDialog).toContainText('alice');
  await bob.screenshot({ path: 'test-results/notebook7-import.png' });
  // Notebook 7's tree opens a notebook in a new browser tab.
  const opened = bob.context().waitForEvent('page');
  await importDialog.getByRole('button', { name: /^Import/ }).click();
  const notebook = await opened;
  await notebook.waitForURL(/\/user\/bob\/notebooks\/.*welcome\.ipynb/, {
    timeout: 60000
  });
  await expect(notebook.locator('.jp-Notebook')).toContainText(
    'Welcome to the sdcc_lab demo portal, alice',
    { timeout: 60000 }
  );
  // The token left the tree view's address bar.
  expect(bob.url()).not.toContain('sdcc-share');
  expect(bob.url()).not.toContain(url.hash.slice(1));
});

const FOLDER = 'nb7-field-data';

/** Save files through the Contents API of the page's server, as the tree view does. */
async function saveFiles(
  page: Page,
  files: Record<string, unknown>
): Promise<void> {
  await page.evaluate(async (files: Record<string, unknown>) => {
    const xsrf = decodeURIComponent(
      document.cookie.match(/(?:^|; )_xsrf=([^;]*)/)?.[1] ?? ''
    );
    const base = location.pathname.match(/^\/user\/[^/]+\//)?.[0] ?? '/';
    for (const [path, model] of Object.entries(files)) {
      const r = await fetch(`${base}api/contents/${path}`, {
        method: 'PUT',
        headers: { 'X-XSRFToken': xsrf, 'Content-Type': 'application/json' },
        body: JSON.stringify(model)
      });
      if (!r.ok) {
        throw new Error(`save of ${path} failed: ${r.status}`);
      }
    }
  }, files);
}

/** A call of the page's own server (with its _xsrf), as the frontend makes it. */
async function serverCall(
  page: Page,
  method: string,
  path: string,
  body?: unknown
): Promise<any> {
  return page.evaluate(
    async ([method, path, body]) => {
      const xsrf = decodeURIComponent(
        document.cookie.match(/(?:^|; )_xsrf=([^;]*)/)?.[1] ?? ''
      );
      const base = location.pathname.match(/^\/user\/[^/]+\//)?.[0] ?? '/';
      const r = await fetch(base + (path as string), {
        method: method as string,
        headers: { 'X-XSRFToken': xsrf, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body)
      });
      if (!r.ok) {
        throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
      }
      return r.json();
    },
    [method, path, body] as const
  );
}

function notebookModel(source: string): unknown {
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

test('Notebook 7: Share folder… from the tree; bob imports it there; Shared with me in the tree', async ({
  page,
  browser
}) => {
  test.setTimeout(360000);
  await page.goto('/hub/login');
  await signIn(page, 'alice');
  await throughSpawnForm(page, 'alice', /\/user\/alice\/lab/);
  await openTree(page, 'alice');
  await saveFiles(page, {
    [FOLDER]: { type: 'directory' },
    [`${FOLDER}/clean.ipynb`]: notebookModel('import csv'),
    [`${FOLDER}/samples.csv`]: {
      type: 'file',
      format: 'text',
      content: 'x,y\n1,2\n'
    },
    'nb7-for-bob.ipynb': notebookModel('print("for bob, from the tree")')
  });
  // A notebook for bob only (the dialog's audience field is tested in inbox.spec.ts).
  const forBob = await serverCall(page, 'POST', 'sdcc-lab/api/shares', {
    path: 'nb7-for-bob.ipynb',
    audience: { users: ['bob'], groups: [] }
  });
  await openTree(page, 'alice');

  // Tree view: right-click the folder → Share folder… → a link.
  await page
    .locator('.jp-DirListing-item[data-isdir="true"]', { hasText: FOLDER })
    .first()
    .click({ button: 'right' });
  await page.getByRole('menuitem', { name: 'Share folder…' }).click();
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog).toContainText(`Folder: ${FOLDER}`);
  await dialog.getByRole('button', { name: 'Create link' }).click();
  const field = dialog.getByLabel('Share link');
  await expect(field).toHaveValue(
    /\/services\/share\/open#[A-Za-z0-9_.-]{16,}$/
  );
  await expect(dialog).toContainText('2 files travel');
  await checkA11y(page, 'notebook 7 tree: Share folder dialog with its link', {
    include: ['.jp-Dialog']
  });
  await page.screenshot({ path: 'test-results/notebook7-share-folder.png' });
  const link = await field.inputValue();
  await dialog.getByRole('button', { name: 'Close' }).click();

  // bob opens the folder's link and continues to his Notebook 7 tree.
  const bob = await newPage(browser);
  const url = new URL(link);
  await bob.goto(
    `${url.origin}${url.pathname}?next=/hub/user-redirect/tree${url.hash}`
  );
  const username = bob.getByLabel('Username');
  const shared = bob.getByText('A folder was shared with you');
  await expect(shared.or(username)).toBeVisible({ timeout: SIGN_IN_TIMEOUT });
  if (await username.isVisible()) {
    await signIn(bob, 'bob');
  }
  await expect(bob.locator('body')).toContainText(
    'A folder was shared with you',
    {
      timeout: SIGN_IN_TIMEOUT
    }
  );
  await bob
    .getByRole('link', { name: 'Continue to my Jupyter Notebook' })
    .click();
  await throughSpawnForm(bob, 'bob', /\/user\/bob\/tree/);
  expect(await notebookPage(bob)).toBe('tree');
  const ask = bob.locator('.jp-Dialog');
  await expect(ask).toContainText('alice', { timeout: 60000 });
  await ask.getByRole('button', { name: /^Import/ }).click();
  // (bob's tree also announces alice's notebook for him: pick the import's toast.)
  await expect(
    bob.locator('.jp-Notification-Toast-success, .Toastify__toast', {
      hasText: `Imported shared/alice/${FOLDER} from alice.`
    })
  ).toBeVisible({ timeout: 30000 });
  // The tree shows the imported folder's files.
  const listing = bob.locator('.jp-DirListing-content');
  await expect(listing).toContainText('samples.csv', { timeout: 30000 });
  await expect(listing).toContainText('clean.ipynb');
  await bob.screenshot({ path: 'test-results/notebook7-folder-imported.png' });

  // Shared with me, from the tree's View menu: alice's notebook for bob, new.
  await bob.getByRole('menuitem', { name: 'View' }).click();
  await bob.getByRole('menuitem', { name: 'Show Shared with Me' }).click();
  const inbox = bob.locator('#sdcc-lab-inbox');
  await expect(inbox).toBeVisible();
  const item = inbox.locator(
    `.jp-sdcc-InboxItem[data-share-id="${forBob.id}"]`
  );
  await expect(item).toHaveAttribute('data-state', 'new', { timeout: 30000 });
  await expect(item).toContainText('alice');
  await checkA11y(bob, 'notebook 7 tree: Shared with me', {
    include: ['#sdcc-lab-inbox']
  });
  await bob.screenshot({ path: 'test-results/notebook7-inbox.png' });
  // One click imports it; Notebook 7 opens it in a new browser tab.
  const opened = bob.context().waitForEvent('page');
  await item.getByRole('button', { name: 'Import: nb7-for-bob.ipynb' }).click();
  const notebook = await opened;
  await notebook.waitForURL(
    /\/user\/bob\/notebooks\/shared\/alice\/nb7-for-bob\.ipynb/,
    {
      timeout: 60000
    }
  );
  await expect(notebook.locator('.jp-Notebook')).toContainText(
    'for bob, from the tree',
    {
      timeout: 60000
    }
  );
  await expect(item).toHaveAttribute('data-state', 'imported', {
    timeout: 30000
  });
});
