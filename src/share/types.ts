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
  /** A folder share's notebooks' kernels. */
  kernels?: { name?: string; display_name?: string; language?: string }[];
}

/** `POST shares` */
export interface ICreatedShare {
  id: string;
  url: string;
  token: string;
  path: string;
  expires_at: string;
  environment: IShareEnvironment;
  /** "folder" for a folder share (`POST shares` with a folder's path). */
  kind?: 'notebook' | 'folder';
  /** A folder share's files (path inside the folder, size in bytes). */
  files?: IFolderFile[];
  /** What a folder share left out, and why (hidden, a link out of the folder…). */
  left_out?: { path: string; reason: string }[];
  max_folder_files?: number;
  max_folder_size?: number;
}

/** One file of a folder share. */
export interface IFolderFile {
  path: string;
  size: number;
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
  /** The caps on a folder share: files, and bytes in all. */
  max_folder_files?: number;
  max_folder_size?: number;
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
  kind?: 'notebook' | 'folder';
  files?: IFolderFile[] | null;
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
  kind?: 'notebook' | 'folder';
  /** A folder's files: what each import did (`saved_as`: a copy beside an edited one). */
  files?: { path: string; action: string; saved_as: string }[];
}

/** Command ids of the share plugin. */
export namespace ShareCommandIDs {
  export const share = 'sdcc-lab:share-notebook';
  export const shareFolder = 'sdcc-lab:share-folder';
  export const manage = 'sdcc-lab:manage-shares';
  export const importLink = 'sdcc-lab:import-shared-notebook';
}
