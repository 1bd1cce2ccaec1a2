/**
 * The inbox endpoints, through the extension's one HTTP helper.
 */
import { requestAPI } from '../api';
import { IImportResult } from '../share/types';
import { IAccessLog, IInbox } from './types';

export function fetchInbox(): Promise<IInbox> {
  return requestAPI<IInbox>('shares/inbox');
}

export function fetchAccess(id: string): Promise<IAccessLog> {
  return requestAPI<IAccessLog>(`shares/${encodeURIComponent(id)}/access`);
}

/** The same import as a pasted link (an edited copy is never overwritten). */
export function importShare(url: string): Promise<IImportResult> {
  return requestAPI<IImportResult>('imports', {
    method: 'POST',
    body: JSON.stringify({ link: url })
  });
}
