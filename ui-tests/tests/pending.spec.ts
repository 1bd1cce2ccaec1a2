/**
 * A session waiting in the queue, in a browser, on the real Slurm test cluster:
 * bob's job fills the node, alice starts a session from the form, and the
 * spawn pending page tells her why it waits (in plain words) and when Slurm
 * expects it to start; "Cancel" takes her back to the form with no job left.
 * Run holding the Slurm lock (the spec submits and cancels alice's and bob's jobs).
 */
import { execFileSync } from 'child_process';
import { expect, test } from '@playwright/test';
import { toSpawnForm } from './hub-login';

function run(argv: string[]): string {
  return execFileSync(argv[0], argv.slice(1), {
    encoding: 'utf-8',
    timeout: 30000
  });
}

function jobsOf(user: string): string[] {
  return run(['/usr/bin/squeue', '-h', '-u', user, '-o', '%i'])
    .split(/\s+/)
    .filter(Boolean);
}

function cancelJobsOf(user: string): void {
  for (const job of jobsOf(user)) {
    run(['/usr/bin/scancel', job]);
  }
}

/** bob's job takes every CPU of the node for `minutes`. */
function fillNodeAsBob(minutes: number): string {
  const cpus = run(['/usr/bin/sinfo', '-h', '-o', '%c']).trim().split(/\s+/)[0];
  return run([
    '/usr/sbin/runuser',
    '-u',
    'bob',
    '--',
    '/usr/bin/sbatch',
    '--parsable',
    '-p',
    'cpu',
    '-A',
    'tier3',
    '-t',
    String(minutes),
    `--cpus-per-task=${cpus}`,
    '--chdir=/tmp',
    '--output=/dev/null',
    '--wrap',
    `sleep ${minutes * 60}`
  ]).trim();
}

test.afterEach(() => {
  cancelJobsOf('alice');
  cancelJobsOf('bob');
});

test('the pending page says why the job waits and when it should start; Cancel leaves no job', async ({
  page
}) => {
  cancelJobsOf('alice');
  const blocker = fillNodeAsBob(2);
  await expect
    .poll(() =>
      run(['/usr/bin/squeue', '-h', '-j', blocker, '-o', '%T']).trim()
    )
    .toBe('RUNNING');

  await toSpawnForm(page, 'alice'); // stops a session an earlier spec left
  await page.getByLabel('As a batch job on the cluster').check();
  await page.getByLabel('Partition', { exact: true }).selectOption('cpu');
  await page.getByLabel('Runtime (min)').fill('10');
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await page.waitForURL(/\/hub\/spawn-pending\/alice/);

  const panel = page.getByRole('region', {
    name: 'Your job is waiting in the queue'
  });
  await expect(panel).toBeVisible({ timeout: 30000 });
  // Slurm's reason in plain words, then its planned start (after a backfill pass).
  await expect(page.locator('#sdcc-pending-reason')).toHaveText(
    'The nodes are busy: your job starts as soon as enough of them are free.',
    { timeout: 90000 }
  );
  await expect(page.locator('#sdcc-pending-code')).toContainText('Resources');
  // (bob's job ends 2 min after it started: the planned start may already be due.)
  await expect(page.locator('#sdcc-pending-start')).toHaveText(
    /^(\d\d:\d\d \(in about \d+ min\)|any moment now)$/,
    { timeout: 90000 }
  );
  expect(jobsOf('alice')).toHaveLength(1);
  await page.screenshot({ path: 'test-results/pending-alice.png' });

  await panel.getByRole('button', { name: /Cancel this job/ }).click();
  await page.waitForURL(/\/hub\/spawn(\/alice)?$/, { timeout: 60000 });
  await expect(page.locator('#sdcc-spawn-form')).toBeVisible();
  expect(jobsOf('alice')).toEqual([]);
});
