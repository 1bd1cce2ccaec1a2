/**
 * Types of the share endpoints of the server extension (see docs/api.md).
 */
import { IDifference } from '../labels';
import { ISessionIdentity } from '../tokens';

/** The environment that travels with a link. */
export interface IShareEnvironment {
  scheduler?: ISessionIdentity['scheduler'];
  options?: ISessionIdentity['options'];
  kernelspec?: { name?: string; display_name?: string; language?: string };
}

/** `POST shares` */
export interface ICreatedShare {
  id: string;
  url: string;
  token: string;
  path: string;
  expires_at: string;
  environment: IShareEnvironment;
}

/** One entry of `GET shares`. */
export interface IShareSummary {
  id: string;
  path: string;
  url: string;
  created_at: string;
  expires_at: string;
  opens: number;
}

/** `GET shares` */
export interface IShareList {
  shares: IShareSummary[];
  max_expires_in?: number;
}

/** `POST imports/preview` */
export interface IImportPreview {
  owner: string;
  source_path: string;
  name: string;
  expires_at: string;
  environment: IShareEnvironment;
  /** The differences in English words (for scripts). */
  mismatches: string[];
  /** The same differences by key: the dialog says them through the translator. */
  differences: IDifference[];
  spawn_url: string | null;
  hub_home_url: string | null;
}

/** `POST imports` */
export interface IImportResult {
  path: string;
  action: 'created' | 'refreshed' | 'unchanged' | 'copied';
  owner: string;
  source_path: string;
  environment: IShareEnvironment;
  mismatches: string[];
  differences: IDifference[];
}

/** Command ids of the share plugin. */
export namespace ShareCommandIDs {
  export const share = 'sdcc-lab:share-notebook';
  export const manage = 'sdcc-lab:manage-shares';
  export const importLink = 'sdcc-lab:import-shared-notebook';
}
