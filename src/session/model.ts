/**
 * The session model: what the server extension says about this session,
 * read once (the identity does not change while the server runs).
 */
import { fetchInfo } from './api';
import { IInfo } from '../tokens';

export namespace SessionModel {
  export interface IOptions {
    /** The call to the server; `fetchInfo` by default (tests replace it). */
    fetch?: () => Promise<IInfo>;
  }
}

export class SessionModel {
  constructor(options: SessionModel.IOptions = {}) {
    this._fetch = options.fetch ?? fetchInfo;
  }

  /**
   * The session's info. The first answer is kept; a failed read is not, so
   * the next call asks the server again.
   */
  info(): Promise<IInfo> {
    if (this._info === null) {
      const pending = this._fetch();
      this._info = pending;
      pending.catch(() => {
        if (this._info === pending) {
          this._info = null;
        }
      });
    }
    return this._info;
  }

  private _fetch: () => Promise<IInfo>;
  private _info: Promise<IInfo> | null = null;
}
