/**
 * Start again where you were, in a browser, on the real Slurm test cluster:
 * alice opens two notebooks in a batch session (each starts its kernel), an
 * admin cancels the job (scancel), and "Start again with the same options" on
 * the hub's home page starts a new job that opens the same workspace: the two
 * notebooks are back in their tabs and both their kernels run (the server's
 * /api/sessions). Run holding the Slurm lock (it submits and cancels alice's
 * jobs).
 */
import { execFileSync } from 'child_process';
import { APIRequestContext, expect, Page, test } from '@playwright/test';
import { toSpawnForm } from './hub-login';

const NOTEBOOKS = ['restore-first.ipynb', 'restore-second.ipynb'];
const SERVER = '/user/alice/';

function run(argv: string[]): string {
  return execFileSync(argv[0], argv.slice(1), {
    encoding: 'utf-8',
    timeout: 30000
  });
}

function jobsOf(user: string): string[] {
  return run([
    '/usr/bin/squeue',
    '-h',
    '-u',
    user,
    '-n',
    `jupyter-${user}`,
    '-o',
    '%i'
  ])
    .split(/\s+/)
    .filter(Boolean);
}

function cancelJobsOf(user: string): void {
  for (const job of jobsOf(user)) {
    run(['/usr/bin/scancel', job]);
  }
}

function partitionOf(job: string): string {
  return run(['/usr/bin/squeue', '-h', '-j', job, '-o', '%P']).trim();
}

/** A notebook with one cell and Python's kernelspec, saved through the Contents API. */
async function createNotebook(page: Page, path: string): Promise<void> {
  const xsrf = (await page.context().cookies()).find(
    c => c.name === '_xsrf' && c.path === SERVER
  )?.value;
  const response = await page.request.put(`${SERVER}api/contents/${path}`, {
    headers: { 'X-XSRFToken': xsrf ?? '' },
    data: {
      type: 'notebook',
      format: 'json',
      content: {
        cells: [
          {
            cell_type: 'code',
            execution_count: null,
            id: 'c0',
            metadata: {},
            outputs: [],
            source: `print("${path}")`
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
    }
  });
  expect(response.status()).toBeLessThan(300);
}

/** The paths of the notebooks whose session runs a kernel now. */
async function runningKernels(request: APIRequestContext): Promise<string[]> {
  const response = await request.get(`${SERVER}api/sessions`);
  if (!response.ok()) {
    return [];
  }
  const sessions = (await response.json()) as {
    path: string;
    kernel: { name: string; execution_state?: string } | null;
  }[];
  return sessions
    .filter(s => s.kernel && s.kernel.name === 'python3')
    .map(s => s.path)
    .sort();
}

async function recordedKernels(request: APIRequestContext): Promise<string[]> {
  const response = await request.get(`${SERVER}sdcc-lab/api/workspace`);
  if (!response.ok()) {
    return [];
  }
  const body = (await response.json()) as {
    kernels: { path: string; kernel: string }[];
  };
  return body.kernels
    .filter(k => NOTEBOOKS.includes(k.path) && k.kernel === 'python3')
    .map(k => k.path)
    .sort();
}

function tab(page: Page, name: string) {
  return page.locator('#jp-main-dock-panel .lm-TabBar-tab', { hasText: name });
}

test.afterEach(() => {
  cancelJobsOf('alice');
});

test('Start again reopens the two notebooks in the same workspace with their kernels running', async ({
  page
}) => {
  test.setTimeout(360000);
  cancelJobsOf('alice');
  await toSpawnForm(page, 'alice'); // stops a session an earlier spec left
  await page.getByLabel('As a batch job on the cluster').check();
  await page.getByLabel('Partition', { exact: true }).selectOption('gpu');
  await page.getByLabel('Runtime (min)').fill('10');
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  // The hub sends the user to the portal's workspace.
  await page.waitForURL(/\/user\/alice\/lab\/workspaces\/sdcc-lab/, {
    timeout: 120000
  });
  const [first] = jobsOf('alice');
  expect(first).toBeTruthy();

  for (const path of NOTEBOOKS) {
    await createNotebook(page, path);
  }
  // Opened from the file browser, as a user does (a /tree/ URL would open one
  // file alone: JupyterLab does not restore the rest of the layout then).
  await page.goto(`${SERVER}lab/workspaces/sdcc-lab`);
  for (const path of NOTEBOOKS) {
    await page
      .locator('.jp-DirListing-item', { hasText: path })
      .dblclick({ timeout: 60000 });
    await expect(tab(page, path)).toBeVisible({ timeout: 60000 });
  }
  await expect
    .poll(() => runningKernels(page.request), { timeout: 60000 })
    .toEqual(expect.arrayContaining(NOTEBOOKS));
  // The server has recorded both notebooks' kernels beside the workspace.
  await expect
    .poll(() => recordedKernels(page.request), { timeout: 60000 })
    .toEqual(NOTEBOOKS);

  // An admin cancels the job: the server, its kernels and the page go.
  run(['/usr/bin/scancel', first]);
  await expect.poll(() => jobsOf('alice'), { timeout: 60000 }).toEqual([]);

  // The hub notices the end at its next poll of the job; the home page then offers it.
  const startAgain = page.getByRole('button', {
    name: 'Start again with the same options'
  });
  await expect
    .poll(
      async () => {
        await page.goto('/hub/home');
        return startAgain.isVisible();
      },
      { timeout: 120000, intervals: [3000] }
    )
    .toBe(true);
  await startAgain.click();
  await page.waitForURL(/\/user\/alice\/lab\/workspaces\/sdcc-lab/, {
    timeout: 120000
  });
  const [again] = jobsOf('alice');
  expect(again).toBeTruthy();
  expect(again).not.toBe(first);
  expect(partitionOf(again)).toBe('gpu');

  // The same notebooks, in their tabs, their kernels started.
  for (const path of NOTEBOOKS) {
    await expect(tab(page, path)).toBeVisible({ timeout: 60000 });
  }
  await expect
    .poll(() => runningKernels(page.request), { timeout: 60000 })
    .toEqual(expect.arrayContaining(NOTEBOOKS));
  // The notebook in front shows its kernel as JupyterLab does (the status bar:
  // its toolbar may fold the kernel's name away when a side panel is open).
  await expect(page.locator('.jp-StatusBar-Widget')).toContainText(
    /Python 3 \(ipykernel\) \| (Idle|Busy)/,
    { timeout: 60000 }
  );

  // The specs after this one start alice blank, as before (her switch acts once:
  // her JupyterLab setting turns it on again at the next load).
  const xsrf = (await page.context().cookies()).find(
    c => c.name === '_xsrf' && c.path === SERVER
  )?.value;
  const off = await page.request.put(`${SERVER}sdcc-lab/api/workspace`, {
    headers: { 'X-XSRFToken': xsrf ?? '' },
    data: { restore: false }
  });
  expect(off.status()).toBe(200);
});
