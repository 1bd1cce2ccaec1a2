/**
 * The resources and workers endpoints, through the extension's one HTTP helper.
 */
import { requestAPI } from '../api';
import { IResources, IWorkerJob } from './types';

/** `GET resources`: with the usage figures, or (`usage` false) the limits and the end only. */
export function fetchResources(usage: boolean): Promise<IResources> {
  return requestAPI<IResources>(usage ? 'resources' : 'resources?usage=0');
}

/** `GET workers`: the session's Dask worker jobs. */
export async function listWorkers(): Promise<IWorkerJob[]> {
  return (await requestAPI<{ workers: IWorkerJob[] }>('workers')).workers;
}

/** `DELETE workers/ID`: cancel one worker job, or all of them with `null`. */
export async function cancelWorkers(id: string | null): Promise<void> {
  await requestAPI<null>(
    id === null ? 'workers' : `workers/${encodeURIComponent(id)}`,
    { method: 'DELETE' }
  );
}
