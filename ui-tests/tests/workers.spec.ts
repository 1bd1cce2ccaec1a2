/**
 * The Dask worker jobs in the Session resources panel (project `lab`).
 *
 * This JupyterLab is a local session, which has no worker jobs: the server's
 * answers for `sdcc-lab/api/workers` are replaced here, so the test checks
 * what the panel shows and sends. The server side (listing and cancelling
 * real Slurm jobs) is tested in tests/test_dask_slurm.py.
 */
import { expect, test } from '@jupyterlab/galata';

test('the panel lists worker jobs and cancels one', async ({ page }) => {
  let workers = [
    { id: '701', name: 'dask-alice-12', state: 'RUNNING', reason: null, cpus: 1,
      memory_bytes: 2 * 1024 ** 3, gpus: 0, partition: 'gpu' },
    { id: '702', name: 'dask-alice-12', state: 'PENDING', reason: 'Resources', cpus: 1,
      memory_bytes: 2 * 1024 ** 3, gpus: 0, partition: 'gpu' }
  ];
  const deleted: string[] = [];
  await page.route(/\/sdcc-lab\/api\/workers(\/[^/?]+)?(\?.*)?$/, async route => {
    const request = route.request();
    if (request.method() === 'DELETE') {
      const id = decodeURIComponent(new URL(request.url()).pathname.split('/').pop() ?? '');
      deleted.push(id);
      workers = workers.filter(w => w.id !== id);
      await route.fulfill({ status: 204, body: '' });
    } else {
      await route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ workers }) });
    }
  });

  await page.sidebar.openTab('sdcc-lab-resources');
  const panel = page.getByRole('region', { name: 'Session resources' });
  const section = panel.locator('.jp-sdcc-Workers');
  await expect(section).toContainText('Dask workers');
  await expect(section).toContainText('701');
  await expect(section).toContainText('PENDING (Resources)');
  await expect(section).toContainText('1 CPU, 2.0 GiB');

  await section.getByRole('button', { name: 'Cancel worker job 701' }).click();
  await expect(section).not.toContainText('701');
  await expect(section).toContainText('702');
  expect(deleted).toEqual(['701']);
});
