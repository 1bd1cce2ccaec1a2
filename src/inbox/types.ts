/**
 * Types of "Shared with me" (`GET shares/inbox`) and "who used it"
 * (`GET shares/{id}/access`); see docs/api.md.
 */
import { IShareEnvironment } from '../share/types';

/** A share's state for me. */
export type InboxState = 'new' | 'imported' | 'updated' | 'revoked' | 'expired';

/** One entry of `GET shares/inbox`. */
export interface IInboxItem {
  id: string;
  owner: string;
  path: string;
  name: string;
  kind: 'notebook' | 'folder';
  updated_at: string;
  expires_at: string;
  state: InboxState;
  version: number;
  imported_version: number | null;
  environment: IShareEnvironment;
  addressed: boolean;
  /** Live shares only. */
  url?: string;
  token?: string;
}

/** `GET shares/inbox` */
export interface IInbox {
  shares: IInboxItem[];
}

/** `GET shares/{id}/access` (imports only: `action` is always `import` here). */
export interface IAccessLog {
  accesses: { user: string; version: number; at: string; action: string }[];
  version: number;
}

/** The inbox's commands. */
export namespace InboxCommandIDs {
  /** Show the sidebar: Notebook 7 has no sidebar tab bar, so a menu item shows it. */
  export const open = 'sdcc-lab:inbox-open';
}

/** Who a share is for (`null`: anyone on the hub with the link). */
export interface IAudience {
  users: string[];
  groups: string[];
}
