/**
 * The share endpoints, through the extension's one HTTP helper.
 */
import { requestAPI } from '../api';
import { IAudience } from '../inbox/types';
import {
  ICreatedShare,
  IImportPreview,
  IImportResult,
  IShareList
} from './types';

export function createShare(
  path: string,
  expiresIn?: number,
  audience: IAudience | null = null
): Promise<ICreatedShare> {
  return requestAPI<ICreatedShare>('shares', {
    method: 'POST',
    body: JSON.stringify({ path, expires_in: expiresIn, audience })
  });
}

export function listShares(): Promise<IShareList> {
  return requestAPI<IShareList>('shares');
}

export async function revokeShare(id: string): Promise<void> {
  await requestAPI<null>(`shares/${encodeURIComponent(id)}`, {
    method: 'DELETE'
  });
}

export function previewImport(link: string): Promise<IImportPreview> {
  return requestAPI<IImportPreview>('imports/preview', {
    method: 'POST',
    body: JSON.stringify({ link })
  });
}

export function importLink(link: string): Promise<IImportResult> {
  return requestAPI<IImportResult>('imports', {
    method: 'POST',
    body: JSON.stringify({ link })
  });
}
