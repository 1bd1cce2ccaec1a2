/**
 * The inbox model: what is shared with me, polled, and which new items were
 * announced already (kept in the browser, per user, so each is announced once).
 */
import { ISignal, Signal } from '@lumino/signaling';

import * as api from './api';
import { IInboxItem, InboxState } from './types';

/** What the one button of an item does: import, refresh, import again, or nothing. */
export type InboxAction = 'import' | 'refresh' | 'again' | null;

export function actionFor(state: InboxState): InboxAction {
  switch (state) {
    case 'new':
      return 'import';
    case 'updated':
      return 'refresh';
    case 'imported':
      return 'again';
    default:
      return null; // revoked or expired: nothing to import
  }
}

/** The new items not announced before (ids in `announced`). */
export function toAnnounce(
  items: readonly IInboxItem[],
  announced: ReadonlySet<string>
): IInboxItem[] {
  return items.filter(item => item.state === 'new' && !announced.has(item.id));
}

/** Where the announced ids are kept (local storage; a test passes a map). */
export interface IAnnouncedStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export type InboxAPI = Pick<typeof api, 'fetchInbox' | 'importShare'>;

export namespace InboxModel {
  export interface IOptions {
    user: string;
    api?: InboxAPI;
    store?: IAnnouncedStore;
  }
}

export class InboxModel {
  constructor(options: InboxModel.IOptions) {
    this._api = options.api ?? api;
    this._store = options.store ?? window.localStorage;
    this._key = `sdcc-lab:inbox-announced:${options.user}`;
  }

  get items(): readonly IInboxItem[] {
    return this._items;
  }

  /** The last refresh's problem, or null. */
  get problem(): string | null {
    return this._problem;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Emitted once per new item, the first time any refresh sees it. */
  get arrived(): ISignal<this, IInboxItem[]> {
    return this._arrived;
  }

  async refresh(): Promise<void> {
    try {
      this._items = (await this._api.fetchInbox()).shares;
      this._problem = null;
    } catch (error) {
      this._problem = error instanceof Error ? error.message : String(error);
      this._changed.emit();
      return;
    }
    const announced = this.announced();
    const fresh = toAnnounce(this._items, announced);
    if (fresh.length) {
      fresh.forEach(item => announced.add(item.id));
      // Ids of shares no longer listed are dropped: the set stays small.
      const listed = new Set(this._items.map(item => item.id));
      this._store.setItem(
        this._key,
        JSON.stringify([...announced].filter(id => listed.has(id)))
      );
      this._arrived.emit(fresh);
    }
    this._changed.emit();
  }

  importItem(item: IInboxItem) {
    if (!item.url) {
      throw new Error('this share can no longer be imported');
    }
    return this._api.importShare(item.url);
  }

  private announced(): Set<string> {
    try {
      const raw = JSON.parse(this._store.getItem(this._key) ?? '[]');
      return new Set(Array.isArray(raw) ? raw.map(String) : []);
    } catch {
      return new Set();
    }
  }

  private _api: InboxAPI;
  private _store: IAnnouncedStore;
  private _key: string;
  private _items: IInboxItem[] = [];
  private _problem: string | null = null;
  private _changed = new Signal<this, void>(this);
  private _arrived = new Signal<this, IInboxItem[]>(this);
}
