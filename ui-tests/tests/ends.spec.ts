/**
 * A session that reached its time limit, said at the next visit, in a browser,
 * on the real Slurm test cluster: alice starts a 1-minute session from the
 * form, Slurm ends it (TIMEOUT), and the hub's home page tells her so, with
 * "Start again with the same options" (one click: a new job with the same
 * partition, account, QOS and runtime) and "Choose other options".
 * Saves docs/images/session-end-timeout.png when SDCC_DOCS_IMAGES is set
 * (scripts/docs_images.sh). Run holding the Slurm lock (it submits and cancels
 * alice's jobs).
 */
import { execFileSync } from 'child_process';
import { expect, Page, test } from '@playwright/test';
import { checkA11y } from './axe';
import { DEMO_PASSWORD } from './demo-login';
import { docsImage } from './docs-images';

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

function state(job: string): string {
  return run([
    '/usr/bin/sacct',
    '-nP',
    '-X',
    '-j',
    job,
    '--format=State'
  ]).trim();
}

/** A job's fields as `scontrol show job -o` gives them. */
function jobInfo(job: string): Record<string, string> {
  const line = run(['/usr/bin/scontrol', 'show', 'job', '-o', job]);
  return Object.fromEntries(
    [...line.matchAll(/(\w+)=(\S*)/g)].map(m => [m[1], m[2]])
  );
}

async function login(page: Page, user: string): Promise<void> {
  await page.goto('/hub/login');
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/(hub\/spawn|user\/)/);
}

test.afterEach(() => {
  cancelJobsOf('alice');
});

test('after its time limit, the home page says so and Start again runs the same options', async ({
  page
}) => {
  test.setTimeout(420000);
  cancelJobsOf('alice');
  await login(page, 'alice');
  await page.goto('/hub/spawn');
  await page.getByLabel('As a batch job on the cluster').check();
  await page.getByLabel('Partition', { exact: true }).selectOption('gpu');
  await page.getByLabel('Runtime (min)').fill('1');
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await page.waitForURL(/\/user\/alice\/lab/, { timeout: 120000 });
  const [job] = jobsOf('alice');
  expect(job).toBeTruthy();

  // Slurm ends it at its limit (its check runs every 30 s or so).
  await expect
    .poll(() => state(job), { timeout: 180000, intervals: [5000] })
    .toBe('TIMEOUT');
  // The hub notices at its next poll of the job (JupyterHub polls every 30 s); until then
  // Slurm may still be completing it, and the server counts as running.
  const cookies = await page.context().cookies();
  const xsrf =
    cookies.find(c => c.name === '_xsrf' && c.path === '/hub/')?.value ?? '';
  await expect
    .poll(
      async () => {
        const model = await page.request.get('/hub/api/users/alice', {
          headers: { 'X-XSRFToken': xsrf }
        });
        return Object.keys((await model.json()).servers ?? {}).length;
      },
      { timeout: 90000, intervals: [3000] }
    )
    .toBe(0);

  await page.goto('/hub/home');
  const box = page.getByRole('region', { name: 'Your last session has ended' });
  await expect(box).toBeVisible();
  await expect(box).toContainText(
    /Your session on gpu \(tier3, 1 min\) ended at \d\d:\d\d UTC: it reached its time limit\./
  );
  await expect(
    box.getByRole('button', { name: 'Start again with the same options' })
  ).toBeVisible();
  await expect(
    box.getByRole('link', { name: 'Choose other options' })
  ).toBeVisible();
  await docsImage(page, 'session-end-timeout');
  await checkA11y(page, 'hub: home page after a session ended');
  // JupyterHub's dark mode follows the browser's preference on the open page.
  await page.emulateMedia({ colorScheme: 'dark' });
  await expect(page.locator('html')).toHaveAttribute('data-bs-theme', 'dark');
  await checkA11y(page, 'hub dark: home page after a session ended');
  await page.emulateMedia({ colorScheme: 'light' });
  await expect(page.locator('html')).toHaveAttribute('data-bs-theme', 'light');

  // The form says it too, pre-filled with that session's options.
  await box.getByRole('link', { name: 'Choose other options' }).click();
  await expect(page.locator('#sdcc-session-end-message')).toContainText(
    'it reached its time limit'
  );
  await expect(page.getByLabel('Partition', { exact: true })).toHaveValue(
    'gpu'
  );
  await expect(page.getByLabel('Runtime (min)')).toHaveValue('1');
  await checkA11y(page, 'hub: spawn form after a session ended');

  // One click on the home page: a new job with the same options.
  await page.goto('/hub/home');
  await page
    .getByRole('button', { name: 'Start again with the same options' })
    .click();
  await page.waitForURL(/\/user\/alice\/lab/, { timeout: 120000 });
  const [again] = jobsOf('alice');
  expect(again).toBeTruthy();
  expect(again).not.toBe(job);
  const info = jobInfo(again);
  expect([info.Partition, info.Account, info.QOS, info.TimeLimit]).toEqual([
    'gpu',
    'tier3',
    'gpu-qos',
    '00:01:00'
  ]);
});
