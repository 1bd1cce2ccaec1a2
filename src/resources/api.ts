/**
 * The resources and workers endpoints, through the extension's one HTTP helper.
 */
import { requestAPI } from '../api';
import { IExtendPolicy, IExtendResult, IResources, IWorkerJob } from './types';

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

/** `GET extend`: what the hub's policy still allows this session. */
export function fetchExtendPolicy(): Promise<IExtendPolicy> {
  return requestAPI<IExtendPolicy>('extend');
}

/** `POST extend`: add `minutes` to the running job (the hub checks its policy). */
export function extendSession(minutes: number): Promise<IExtendResult> {
  return requestAPI<IExtendResult>('extend', {
    method: 'POST',
    body: JSON.stringify({ minutes })
  });
}
