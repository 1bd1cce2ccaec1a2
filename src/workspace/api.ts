/**
 * The workspace endpoint, through the extension's one HTTP helper.
 */
import { requestAPI } from '../api';
import { IWorkspaceState } from './restore';

/** `GET sdcc-lab/api/workspace`: the portal workspace and its notebooks' kernels. */
export function fetchWorkspace(): Promise<IWorkspaceState> {
  return requestAPI<IWorkspaceState>('workspace');
}

/** `PUT sdcc-lab/api/workspace`: the user's switch, applied at the next start. */
export function putRestore(restore: boolean): Promise<IWorkspaceState> {
  return requestAPI<IWorkspaceState>('workspace', {
    method: 'PUT',
    body: JSON.stringify({ restore })
  });
}
