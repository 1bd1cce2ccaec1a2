/**
 * What a user sees at the next visit after each kind of end of a batch
 * session, in a browser, on the real Slurm test cluster (issue 13).
 *
 * alice's sessions end the ways they end at a site, each for real:
 * - its time limit: a 1-minute session started from the form reaches it
 *   (TIMEOUT); "Start again with the same options" then submits a job with the
 *   same partition, account, QOS and runtime, and "Choose other options" opens
 *   the form pre-filled;
 * - its memory: a 600 MiB session whose kernel fills 900 MiB, killed by the
 *   cluster (JobAcctGatherParams=OverMemoryKill: FAILED 0:9, MaxRSS over
 *   ReqMem); the form then suggests more memory within her limit;
 * - cancelled by alice (`scancel` as alice) and by an administrator (`scancel`
 *   as root);
 * - its server killed (SIGKILL to the job's jupyterhub-singleuser: FAILED 0:9);
 * - shut down from within (the server's own POST api/shutdown: COMPLETED).
 * Two ends no real job here can give are recorded from real `sacct` output
 * into the demo hub's own store, the way the hub keeps an end
 * (ui-tests/sdcc_lab_record_end.py says why and from which recordings): a
 * node failure (downing the one node would take it from every other test) and
 * a non-zero exit code (the server exits 0 once it has run).
 *
 * Each test checks the words alice reads on the home page; with
 * SDCC_DOCS_IMAGES set (scripts/docs_images.sh) each saves its page as
 * docs/images/session-end-*.png. One demo hub serves them all; the sessions
 * are short (1 and 10 minutes, ended within seconds but for the time limit,
 * waited for once). Run holding the Slurm lock (it submits and cancels
 * alice's jobs).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { expect, Locator, Page, test } from '@playwright/test';
import { checkA11y } from './axe';
import { docsImage } from './docs-images';
import { hubXsrf, serverCall, signIn } from './hub-login';

const MIB = 2 ** 20;
const GIB = 2 ** 30;
/** A short cpu session of alice's (her default account and QOS there). */
const CPU_10_MIN = {
  partition: 'cpu',
  account: 'physics',
  qos: 'normal',
  runtime: 10
};

function run(argv: string[], env?: NodeJS.ProcessEnv): string {
  return execFileSync(argv[0], argv.slice(1), {
    encoding: 'utf-8',
    timeout: 30000,
    env: env ? { ...process.env, ...env } : undefined
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

/** A field of the job's allocation in Slurm's accounting ("TIMEOUT", "0:9"). */
function sacct(job: string, field: string): string {
  return run([
    '/usr/bin/sacct',
    '-nP',
    '-X',
    '-j',
    job,
    `--format=${field}`
  ]).trim();
}

function state(job: string): string {
  return sacct(job, 'State');
}

/** Slurm's end time of `job` as the portal says it ("11:28 UTC"). */
function endTime(job: string): string {
  const seconds = Number(
    run(['/usr/bin/sacct', '-nP', '-X', '-j', job, '--format=End'], {
      SLURM_TIME_FORMAT: '%s'
    }).trim()
  );
  return `${new Date(seconds * 1000).toISOString().slice(11, 16)} UTC`;
}

/** A job's fields as `scontrol show job -o` gives them. */
function jobInfo(job: string): Record<string, string> {
  const line = run(['/usr/bin/scontrol', 'show', 'job', '-o', job]);
  return Object.fromEntries(
    [...line.matchAll(/(\w+)=(\S*)/g)].map(m => [m[1], m[2]])
  );
}

/** Sizes as the portal says them (sdcc_lab.hub.ends.size_words): "4 GiB", "4.1 GiB", "900 MiB". */
function sizeWords(size: number): string {
  if (size >= GIB) {
    return `${(size / GIB).toFixed(1).replace(/\.0$/, '')} GiB`;
  }
  return `${Math.max(1, Math.round(size / MIB))} MiB`;
}

async function login(page: Page, user: string): Promise<void> {
  await page.goto('/hub/login');
  await signIn(page, user);
  await page.waitForURL(/\/(hub\/spawn|user\/)/);
}

async function hubApi(
  page: Page,
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  data?: unknown
): Promise<{ status: number; body: any }> {
  const response = await page.request.fetch(`/hub/api/${url}`, {
    method,
    headers: { 'X-XSRFToken': await hubXsrf(page) },
    data
  });
  const text = await response.text();
  return {
    status: response.status(),
    body: text ? JSON.parse(text) : null
  };
}

async function serverOf(page: Page): Promise<{ ready?: boolean } | null> {
  const { body } = await hubApi(page, 'GET', 'users/alice');
  return body.servers?.[''] ?? null;
}

/**
 * No session of alice's and no message left from another test: her server
 * stopped through the hub (a stop the user asked for: not announced), any job
 * the hub no longer follows cancelled, the message dismissed.
 */
async function fresh(page: Page): Promise<void> {
  const stopped = await hubApi(page, 'DELETE', 'users/alice/server');
  expect([202, 204]).toContain(stopped.status);
  await expect
    .poll(() => serverOf(page), { timeout: 90000, intervals: [2000] })
    .toBeNull();
  cancelJobsOf('alice');
  const dismissed = await hubApi(page, 'POST', 'sdcc-lab/session-end/dismiss');
  expect([204, 404]).toContain(dismissed.status);
}

/** Start alice's session through the hub's REST API; its job id once the server is ready. */
async function startSession(
  page: Page,
  options: Record<string, unknown>
): Promise<string> {
  const started = await hubApi(page, 'POST', 'users/alice/server', options);
  expect([201, 202], JSON.stringify(started.body)).toContain(started.status);
  await expect
    .poll(async () => (await serverOf(page))?.ready ?? false, {
      timeout: 120000,
      intervals: [2000]
    })
    .toBe(true);
  const [job] = jobsOf('alice');
  expect(job).toBeTruthy();
  return job;
}

/** JupyterLab's page of alice's session (the hub's login carries over to the server). */
async function openLab(page: Page): Promise<void> {
  await page.goto('/user/alice/lab');
  await page.waitForURL(/\/user\/alice\/lab/, { timeout: 120000 });
  await expect(page.locator('#jupyter-config-data')).toBeAttached();
}

/** Slurm's final state of `job`, once it has one. */
async function ended(job: string, timeout: number): Promise<string> {
  await expect
    .poll(() => state(job), { timeout, intervals: [2000] })
    .not.toMatch(/^(PENDING|RUNNING|COMPLETING|REQUEUED|)$/);
  return state(job);
}

/** The home page's box about the last session, once the hub has noticed the end. */
async function endBox(page: Page): Promise<Locator> {
  const box = page.getByRole('region', { name: 'Your last session has ended' });
  await expect
    .poll(
      async () => {
        await page.goto('/hub/home');
        return box.isVisible();
      },
      { timeout: 90000, intervals: [2000] }
    )
    .toBe(true);
  await expect(
    box.getByRole('button', { name: 'Start again with the same options' })
  ).toBeVisible();
  await expect(
    box.getByRole('link', { name: 'Choose other options' })
  ).toBeVisible();
  await expect(box.getByRole('button', { name: 'Dismiss' })).toBeVisible();
  return box;
}

/** Run `code` in a new kernel of alice's server (from JupyterLab's page, as the page would). */
async function runInKernel(page: Page, code: string): Promise<void> {
  const kernel = await serverCall(page, 'POST', 'api/kernels', {
    name: 'python3'
  });
  const outcome = await page.evaluate(
    async ({ id, code }) => {
      const config =
        document.getElementById('jupyter-config-data')?.textContent ?? '{}';
      const base = new URL(JSON.parse(config).baseUrl ?? '/', location.href);
      base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
      const socket = new WebSocket(new URL(`api/kernels/${id}/channels`, base));
      const msgId = `sdcc-ends-${Date.now()}`;
      return new Promise<string>(resolve => {
        let sent = false;
        const timer = setTimeout(() => resolve('no answer in 60 s'), 60000);
        const done = (what: string) => {
          clearTimeout(timer);
          resolve(what);
        };
        socket.onopen = () => {
          socket.send(
            JSON.stringify({
              header: {
                msg_id: msgId,
                msg_type: 'execute_request',
                username: 'alice',
                session: msgId,
                version: '5.3',
                date: new Date().toISOString()
              },
              parent_header: {},
              metadata: {},
              content: {
                code,
                silent: false,
                store_history: false,
                user_expressions: {},
                allow_stdin: false,
                stop_on_error: true
              },
              channel: 'shell',
              buffers: []
            })
          );
          sent = true;
        };
        socket.onmessage = event => {
          const message = JSON.parse(String(event.data));
          if (
            message.parent_header?.msg_id === msgId &&
            message.msg_type === 'execute_input'
          ) {
            done('running');
          }
        };
        // The job may be killed before the kernel says it runs the code: that is the point.
        socket.onclose = () => done(sent ? 'closed after sending' : 'closed');
      });
    },
    { id: kernel.id as string, code }
  );
  expect(outcome).not.toBe('closed');
}

/** The PID of `job`'s JupyterLab server (jupyterhub-singleuser), from /proc. */
function serverPid(job: string): number {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) {
      continue;
    }
    try {
      const cmdline = fs.readFileSync(
        path.join('/proc', entry, 'cmdline'),
        'utf-8'
      );
      if (!cmdline.includes('jupyterhub-singleuser')) {
        continue;
      }
      const environ = fs
        .readFileSync(path.join('/proc', entry, 'environ'), 'utf-8')
        .split('\0');
      if (environ.includes(`SLURM_JOB_ID=${job}`)) {
        return Number(entry);
      }
    } catch {
      // a process that ended meanwhile
    }
  }
  throw new Error(`no jupyterhub-singleuser process of job ${job}`);
}

/** Keep a recorded real end as alice's last (ui-tests/sdcc_lab_record_end.py). */
function recordEnd(end: 'node_fail' | 'exit_code'): void {
  const data = process.env.DEMO_DATA;
  expect(
    data,
    'DEMO_DATA names the demo hub data folder (run.sh)'
  ).toBeTruthy();
  const options = {
    ...CPU_10_MIN,
    runtime: 60,
    local: false,
    gpu: 'none',
    gpus: 0,
    environment: 'default'
  };
  run([
    process.env.VIRTUAL_ENV
      ? path.join(process.env.VIRTUAL_ENV, 'bin', 'python')
      : 'python3',
    path.join(__dirname, '..', 'sdcc_lab_record_end.py'),
    '--data-dir',
    data as string,
    '--user',
    'alice',
    '--end',
    end,
    '--options',
    JSON.stringify(options)
  ]);
}

// A job's start, its end and the hub's noticing it take under a minute; room for a slow node.
test.describe.configure({ timeout: 180000 });

test.beforeEach(async ({ page }) => {
  await login(page, 'alice');
  await fresh(page);
});

test.afterEach(async ({ page }) => {
  // The next spec finds alice without a session or a message.
  await fresh(page);
});

test('a node failure (recorded) is said', async ({ page }) => {
  recordEnd('node_fail');
  const box = await endBox(page);
  await expect(box.locator('#sdcc-session-end-message')).toHaveText(
    /^Your session on cpu \(physics, 60 min\) ended at \d\d:\d\d UTC: the node it ran on failed\.$/
  );
  await docsImage(page, 'session-end-node-failure');
});

test('an exit code (recorded) is said', async ({ page }) => {
  recordEnd('exit_code');
  const box = await endBox(page);
  await expect(box.locator('#sdcc-session-end-message')).toHaveText(
    /^Your session on cpu \(physics, 60 min\) ended at \d\d:\d\d UTC: JupyterLab stopped with an error \(exit code 3\)\.$/
  );
  await docsImage(page, 'session-end-exit-code');
});

test('cancelled by an administrator: said, and Dismiss takes it away', async ({
  page
}) => {
  const job = await startSession(page, CPU_10_MIN);
  run(['/usr/bin/scancel', job]); // as root: an administrator
  expect(await ended(job, 60000)).toBe('CANCELLED by 0');
  const box = await endBox(page);
  await expect(box.locator('#sdcc-session-end-message')).toHaveText(
    `Your session on cpu (physics, 10 min) ended at ${endTime(job)}: ` +
      'it was cancelled by an administrator.'
  );
  await docsImage(page, 'session-end-cancelled-by-admin');

  await box.getByRole('button', { name: 'Dismiss' }).click();
  await expect(box).toBeHidden();
  await page.reload();
  await expect(page.locator('#sdcc-session-end')).toHaveCount(0);
  await page.goto('/hub/spawn/alice');
  await expect(page.locator('#sdcc-spawn-form')).toBeVisible();
  await expect(page.locator('#sdcc-session-end')).toHaveCount(0);
});

test('cancelled by the user: said as theirs', async ({ page }) => {
  const job = await startSession(page, CPU_10_MIN);
  // alice's own scancel, as from a terminal on the cluster.
  run(['/usr/sbin/runuser', '-u', 'alice', '--', '/usr/bin/scancel', job]);
  const uid = run(['/usr/bin/id', '-u', 'alice']).trim();
  expect(await ended(job, 60000)).toBe(`CANCELLED by ${uid}`);
  const box = await endBox(page);
  await expect(box.locator('#sdcc-session-end-message')).toHaveText(
    `Your session on cpu (physics, 10 min) ended at ${endTime(job)}: ` +
      'it was cancelled by you.'
  );
  await docsImage(page, 'session-end-cancelled-by-user');
});

test('its server killed: said with the signal', async ({ page }) => {
  const job = await startSession(page, CPU_10_MIN);
  process.kill(serverPid(job), 'SIGKILL');
  expect(await ended(job, 60000)).toBe('FAILED');
  expect(sacct(job, 'ExitCode')).toBe('0:9');
  const box = await endBox(page);
  await expect(box.locator('#sdcc-session-end-message')).toHaveText(
    `Your session on cpu (physics, 10 min) ended at ${endTime(job)}: ` +
      'JupyterLab was killed (signal 9).'
  );
  await docsImage(page, 'session-end-killed');
});

test('shut down from within: said as such', async ({ page }) => {
  const job = await startSession(page, CPU_10_MIN);
  await openLab(page);
  // What `jupyter server stop` asks first; the server may not answer as it goes.
  await page.evaluate(async () => {
    const xsrf = document.cookie.match(/(?:^|; )_xsrf=([^;]*)/)?.[1] ?? '';
    const config =
      document.getElementById('jupyter-config-data')?.textContent ?? '{}';
    const base = new URL(JSON.parse(config).baseUrl ?? '/', location.href);
    await fetch(new URL('api/shutdown', base), {
      method: 'POST',
      headers: { 'X-XSRFToken': decodeURIComponent(xsrf) }
    }).catch(() => undefined);
  });
  expect(await ended(job, 60000)).toBe('COMPLETED');
  const box = await endBox(page);
  await expect(box.locator('#sdcc-session-end-message')).toHaveText(
    `Your session on cpu (physics, 10 min) ended at ${endTime(job)}: ` +
      'JupyterLab was shut down from within the session.'
  );
  await docsImage(page, 'session-end-completed');
});

test('over its memory: said with the peak, and the form offers more memory', async ({
  page
}) => {
  test.setTimeout(240000);
  const job = await startSession(page, { ...CPU_10_MIN, memory: 600 });
  await openLab(page);
  await runInKernel(
    page,
    "import time\nx = b'x' * (900 * 2**20)\ntime.sleep(120)\n"
  );
  // Killed by OverMemoryKill: Slurm 22.05 records FAILED with SIGKILL (no cgroup
  // OOM event, so no OUT_OF_MEMORY state), the step's MaxRSS over its ReqMem.
  expect(await ended(job, 90000)).toBe('FAILED');
  expect(sacct(job, 'ExitCode')).toBe('0:9');

  const box = await endBox(page);
  const { body } = await hubApi(page, 'GET', 'sdcc-lab/session-end');
  expect(body.end.kind).toBe('out_of_memory');
  const peak = body.end.peak_memory_bytes as number;
  expect(peak).toBeGreaterThan(600 * MIB);
  const message =
    `Your session on cpu (physics, 10 min) ended at ${endTime(job)}: it was ` +
    `stopped because it used more than its 600 MiB of memory (peak ${sizeWords(peak)}).`;
  await expect(box.locator('#sdcc-session-end-message')).toHaveText(message);
  await docsImage(page, 'session-end-out-of-memory');

  // The form: the same words, and more memory than the session had, within her limit.
  await box.getByRole('link', { name: 'Choose other options' }).click();
  await expect(page.locator('#sdcc-spawn-form')).toBeVisible();
  await expect(page.locator('#sdcc-session-end-message')).toHaveText(message);
  const data = JSON.parse(
    (await page.locator('#sdcc-form-data').textContent()) ?? '{}'
  );
  const cpu = data.partitions.find((p: any) => p.name === 'cpu');
  const qos = cpu.accounts
    .flatMap((a: any) => a.qos)
    .find((q: any) => q.name === 'normal' && q.max_memory_mib);
  const limit = Number(qos.max_memory_mib);
  const suggested = Math.min(Math.ceil((2 * peak) / GIB) * 1024, limit);
  expect(suggested).toBeGreaterThan(600);
  await expect(page.locator('#sdcc-memory-note')).toHaveText(
    `Memory is set to ${suggested} MiB (your last session had 600 MiB); ` +
      `you may ask for up to ${limit} MiB here.`
  );
  await expect(page.getByLabel('Memory (MiB)')).toHaveValue(String(suggested));
  await expect(page.getByLabel('Partition', { exact: true })).toHaveValue(
    'cpu'
  );
  await docsImage(page, 'session-end-out-of-memory-form', { fullPage: true });
  await checkA11y(page, 'hub: spawn form after an out-of-memory end');
});

test('after its time limit, the home page says so and Start again runs the same options', async ({
  page
}) => {
  test.setTimeout(420000);
  await page.goto('/hub/spawn');
  await page.getByLabel('As a batch job on the cluster').check();
  await page.getByLabel('Partition', { exact: true }).selectOption('gpu');
  await page.getByLabel('Runtime (min)').fill('1');
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await page.waitForURL(/\/user\/alice\/lab/, { timeout: 120000 });
  const [job] = jobsOf('alice');
  expect(job).toBeTruthy();

  // Slurm ends it at its limit (its check runs every 30 s or so).
  expect(await ended(job, 180000)).toBe('TIMEOUT');
  const box = await endBox(page);
  await expect(box.locator('#sdcc-session-end-message')).toHaveText(
    `Your session on gpu (tier3, 1 min) ended at ${endTime(job)}: it reached its time limit.`
  );
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
