/**
 * The resources model: owns the Poll, the clock-skew correction and the
 * one-second tick of the countdown; views only render what it holds.
 */
import { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { errorText } from '../api';
import { extendSession, fetchExtendPolicy, fetchResources } from './api';
import { clockSkew, remainingSeconds } from './format';
import {
  HIDDEN_REFRESH_MS,
  IExtendPolicy,
  IExtendResult,
  IResources
} from './types';

export namespace ResourcesModel {
  export interface IOptions {
    /** ms between polls while the panel is visible (usage included). */
    usageInterval: number;
    /** ms between polls while it is hidden (end time only). */
    hiddenInterval?: number;
    /** The call to the server; `fetchResources` by default (tests replace it). */
    fetch?: (usage: boolean) => Promise<IResources>;
    /** `POST extend`; `extendSession` by default. */
    extend?: (minutes: number) => Promise<IExtendResult>;
    /** `GET extend`; `fetchExtendPolicy` by default. */
    extendPolicy?: () => Promise<IExtendPolicy>;
  }

  /** The last extension: granted, or refused with the hub's words. */
  export interface IExtendOutcome {
    ok: boolean;
    minutes: number;
    /** Why it was refused ('' when granted). */
    text: string;
  }
}

export class ResourcesModel implements IDisposable {
  constructor(options: ResourcesModel.IOptions) {
    this._usageInterval = options.usageInterval;
    this._hiddenInterval = options.hiddenInterval ?? HIDDEN_REFRESH_MS;
    this._fetch = options.fetch ?? fetchResources;
    this._extend = options.extend ?? extendSession;
    this._extendPolicy = options.extendPolicy ?? fetchExtendPolicy;
    this._poll = new Poll({
      auto: true,
      factory: () => this._refresh(),
      frequency: {
        interval: this._hiddenInterval,
        backoff: true,
        max: 5 * 60 * 1000
      },
      name: 'sdcc-lab:resources',
      standby: 'when-hidden'
    });
    this._timer = setInterval(() => {
      if (this._data?.time.end) {
        this._ticked.emit();
      }
    }, 1000);
  }

  /** The last answer of the server, or null before the first. */
  get data(): IResources | null {
    return this._data;
  }

  /** The last error, or null when the last poll succeeded. */
  get error(): string | null {
    return this._error;
  }

  /** Server clock minus browser clock, ms (from the last poll). */
  get skew(): number {
    return this._skew;
  }

  /** Seconds until the end now (countdown), or null when there is no known end. */
  remaining(now: number = Date.now()): number | null {
    return remainingSeconds(this._data?.time.end ?? null, now, this._skew);
  }

  /** Emitted after each poll (new data or a new error). */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Emitted every second while an end is known: countdown views re-render. */
  get ticked(): ISignal<this, void> {
    return this._ticked;
  }

  /** Whether the panel shows: visible panels poll usage, hidden ones only the end. */
  get panelVisible(): boolean {
    return this._panelVisible;
  }
  set panelVisible(value: boolean) {
    if (value === this._panelVisible) {
      return;
    }
    this._panelVisible = value;
    this._applyFrequency();
    if (value) {
      void this._poll.refresh();
    }
  }

  /** ms between usage polls while the panel is visible. */
  set usageInterval(ms: number) {
    this._usageInterval = ms;
    this._applyFrequency();
  }

  /** What the hub's policy still allows (null until read; batch sessions only). */
  get extendPolicy(): IExtendPolicy | null {
    return this._policy;
  }

  /** Whether an extension is under way. */
  get extending(): boolean {
    return this._extending;
  }

  /** The outcome of the last extension: the new end, or why it was refused. */
  get extendMessage(): ResourcesModel.IExtendOutcome | null {
    return this._extendMessage;
  }

  /** Read the hub's policy for this session again. */
  async loadExtendPolicy(): Promise<void> {
    try {
      this._policy = await this._extendPolicy();
    } catch (error) {
      this._policy = {
        available: false,
        reason: errorText(error),
        max_minutes: 0,
        minutes: [],
        extensions_left: 0
      };
    }
    this._changed.emit();
  }

  /**
   * Add `minutes` to the running job. The countdown follows the new end at
   * once (the answer's), then a poll reads the resources again.
   */
  async extend(minutes: number): Promise<boolean> {
    if (this._extending) {
      return false;
    }
    this._extending = true;
    this._extendMessage = null;
    this._changed.emit();
    let ok = false;
    try {
      const result = await this._extend(minutes);
      if (this._data) {
        this._data = {
          ...this._data,
          time: {
            ...this._data.time,
            end: result.end,
            limit_seconds: result.limit_seconds
          }
        };
      }
      this._extendMessage = { ok: true, minutes, text: '' };
      ok = true;
    } catch (error) {
      this._extendMessage = { ok: false, minutes, text: errorText(error) };
    } finally {
      this._extending = false;
      this._changed.emit();
    }
    await Promise.all([
      this.loadExtendPolicy(),
      ok ? this.refresh().catch(() => undefined) : Promise.resolve()
    ]);
    return ok;
  }

  /** Poll now. */
  async refresh(): Promise<void> {
    await this._poll.refresh();
    await this._poll.tick;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    clearInterval(this._timer);
    // Poll.dispose() leaves its next timeout scheduled; stopping first clears it.
    void this._poll.stop();
    this._poll.dispose();
    Signal.clearData(this);
  }

  private _applyFrequency(): void {
    this._poll.frequency = {
      ...this._poll.frequency,
      interval: this._panelVisible ? this._usageInterval : this._hiddenInterval
    };
  }

  private async _refresh(): Promise<void> {
    const sent = Date.now();
    try {
      const data = await this._fetch(this._panelVisible);
      this._skew = clockSkew(data.updated_at, sent, Date.now());
      // A poll without usage keeps the last usage figures on screen.
      if (!this._panelVisible && this._data) {
        data.usage = this._data.usage;
      }
      this._data = data;
      this._error = null;
      if (
        this._policy === null &&
        !this._policyAsked &&
        (data.scheduler === 'slurm' || data.scheduler === 'htcondor')
      ) {
        this._policyAsked = true;
        void this.loadExtendPolicy();
      }
    } catch (error) {
      this._error = errorText(error);
      this._changed.emit();
      throw error; // the Poll backs off
    }
    this._changed.emit();
  }

  private _data: IResources | null = null;
  private _error: string | null = null;
  private _skew = 0;
  private _panelVisible = false;
  private _usageInterval: number;
  private _hiddenInterval: number;
  private _fetch: (usage: boolean) => Promise<IResources>;
  private _extend: (minutes: number) => Promise<IExtendResult>;
  private _extendPolicy: () => Promise<IExtendPolicy>;
  private _policy: IExtendPolicy | null = null;
  private _policyAsked = false;
  private _extending = false;
  private _extendMessage: ResourcesModel.IExtendOutcome | null = null;
  private _poll: Poll;
  private _timer: ReturnType<typeof setInterval>;
  private _isDisposed = false;
  private _changed = new Signal<this, void>(this);
  private _ticked = new Signal<this, void>(this);
}
