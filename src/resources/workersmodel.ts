/**
 * The workers model: the session's Dask worker jobs (`sdcc-lab/api/workers`),
 * polled while the resources panel shows; cancels jobs on request.
 */
import { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { errorText } from '../api';
import { cancelWorkers, listWorkers } from './api';
import { IWorkerJob } from './types';

/** ms between refreshes of the list while the panel shows. */
export const WORKERS_INTERVAL_MS = 10 * 1000;

export namespace WorkersModel {
  export interface IOptions {
    /** The calls to the server; `./api` by default (tests replace them). */
    list?: () => Promise<IWorkerJob[]>;
    cancel?: (id: string | null) => Promise<void>;
    interval?: number;
  }
}

export class WorkersModel implements IDisposable {
  constructor(options: WorkersModel.IOptions = {}) {
    this._list = options.list ?? listWorkers;
    this._cancel = options.cancel ?? cancelWorkers;
    this._poll = new Poll({
      auto: false,
      factory: () => this._refresh(),
      frequency: {
        interval: options.interval ?? WORKERS_INTERVAL_MS,
        backoff: true,
        max: 5 * 60 * 1000
      },
      name: 'sdcc-lab:workers',
      standby: 'when-hidden'
    });
  }

  /** The worker jobs of the last refresh. */
  get workers(): readonly IWorkerJob[] {
    return this._workers;
  }

  /** The last error (listing or cancelling), or null. */
  get error(): string | null {
    return this._error;
  }

  /** Job ids being cancelled right now. */
  isCancelling(id: string | null): boolean {
    return this._cancelling.has(id ?? '*');
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Poll while the panel shows; stop when it hides. */
  set active(value: boolean) {
    if (value) {
      void this._poll.start().then(() => this._poll.refresh());
    } else {
      void this._poll.stop();
    }
  }

  /** Cancel one worker job, or all of them with `null`, then refresh the list. */
  async cancel(id: string | null): Promise<void> {
    const key = id ?? '*';
    this._cancelling.add(key);
    this._changed.emit();
    let refused: string | null = null;
    try {
      await this._cancel(id);
    } catch (error) {
      refused = errorText(error);
    } finally {
      this._cancelling.delete(key);
    }
    try {
      await this._refresh();
    } catch {
      // _refresh recorded the error
    }
    if (refused !== null) {
      // The refusal is what the user needs to read, not the refresh that followed.
      this._error = refused;
      this._changed.emit();
    }
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    void this._poll.stop();
    this._poll.dispose();
    Signal.clearData(this);
  }

  private async _refresh(): Promise<void> {
    try {
      this._workers = await this._list();
      this._error = null;
    } catch (error) {
      this._error = errorText(error);
      this._changed.emit();
      throw error;
    }
    this._changed.emit();
  }

  private _list: () => Promise<IWorkerJob[]>;
  private _cancel: (id: string | null) => Promise<void>;
  private _poll: Poll;
  private _workers: IWorkerJob[] = [];
  private _error: string | null = null;
  private _cancelling = new Set<string>();
  private _isDisposed = false;
  private _changed = new Signal<this, void>(this);
}
