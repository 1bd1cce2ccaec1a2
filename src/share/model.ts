/**
 * The share model: my live links and the site's longest expiry, the default
 * expiry from the settings, and the calls that change them. The dialogs only
 * render what it holds and call its methods.
 */
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { IAudience } from '../inbox/types';
import * as api from './api';
import { DAY } from './format';
import {
  ICreatedShare,
  IImportPreview,
  IImportResult,
  IShareSummary
} from './types';

/** The share endpoints the model calls (`./api` by default; tests pass fakes). */
export type ShareAPI = Pick<
  typeof api,
  'createShare' | 'listShares' | 'revokeShare' | 'previewImport' | 'importLink'
>;

export namespace ShareModel {
  export interface IOptions {
    api?: ShareAPI;
  }
}

export class ShareModel implements IDisposable {
  constructor(options: ShareModel.IOptions = {}) {
    this._api = options.api ?? api;
  }

  /** My live links, as of the last `refresh()`. */
  get shares(): readonly IShareSummary[] {
    return this._shares;
  }

  /** The site's longest expiry (seconds), or undefined while unknown. */
  get maxExpiresIn(): number | undefined {
    return this._maxExpiresIn;
  }

  /** The caps on a folder share (files; bytes in all), or undefined while unknown. */
  get maxFolderFiles(): number | undefined {
    return this._maxFolderFiles;
  }
  get maxFolderSize(): number | undefined {
    return this._maxFolderSize;
  }

  /** The expiry offered first (seconds), from the settings. */
  get defaultExpiry(): number {
    return this._defaultExpiry;
  }
  set defaultExpiry(seconds: number) {
    this._defaultExpiry = seconds;
  }

  /** Emitted when the list of links changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Read my links (and the site's longest expiry) again. */
  async refresh(): Promise<void> {
    const list = await this._api.listShares();
    this._shares = list.shares;
    this._maxExpiresIn = list.max_expires_in;
    this._maxFolderFiles = list.max_folder_files;
    this._maxFolderSize = list.max_folder_size;
    this._changed.emit();
  }

  /** A new link to `path`. */
  create(
    path: string,
    expiresIn: number,
    audience: IAudience | null = null
  ): Promise<ICreatedShare> {
    return this._api.createShare(path, expiresIn, audience);
  }

  /** Revoke a link; it leaves the list once the server confirmed. */
  async revoke(id: string): Promise<void> {
    await this._api.revokeShare(id);
    this._shares = this._shares.filter(share => share.id !== id);
    this._changed.emit();
  }

  /** What importing `link` would bring, before deciding. */
  preview(link: string): Promise<IImportPreview> {
    return this._api.previewImport(link);
  }

  /** Import the notebook of `link` into my session. */
  importLink(link: string): Promise<IImportResult> {
    return this._api.importLink(link);
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    Signal.clearData(this);
  }

  private _api: ShareAPI;
  private _shares: IShareSummary[] = [];
  private _maxExpiresIn: number | undefined = undefined;
  private _maxFolderFiles: number | undefined = undefined;
  private _maxFolderSize: number | undefined = undefined;
  private _defaultExpiry = DAY;
  private _isDisposed = false;
  private _changed = new Signal<this, void>(this);
}
