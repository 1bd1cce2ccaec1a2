/**
 * Near the end of a batch job: warnings with a "Save all" action, and the
 * auto-save of documents with unsaved changes.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { TranslationBundle } from '@jupyterlab/translation';
import { IDisposable } from '@lumino/disposable';

import {
  autosaveDue,
  decideWarning,
  formatBytes,
  formatDuration,
  jobLengthSeconds,
  memoryWarning
} from './format';
import { ResourcesModel } from './model';
import { DEFAULT_SETTINGS, IResourcesSettings } from './types';

/** Auto-save runs at most this often (ms) inside the lead time. */
const AUTOSAVE_EVERY_MS = 10 * 1000;

/** Save every open document that has unsaved changes; returns how many were saved. */
export async function saveDirtyDocuments(
  app: JupyterFrontEnd,
  docManager: IDocumentManager
): Promise<number> {
  const contexts = new Set<DocumentRegistry.Context>();
  for (const widget of app.shell.widgets('main')) {
    const context = docManager.contextForWidget(widget);
    if (context && context.model.dirty && !context.model.readOnly) {
      contexts.add(context);
    }
  }
  const saved = await Promise.all(
    [...contexts].map(c =>
      c.save().then(
        () => 1,
        (reason: unknown) => {
          console.error(`sdcc_lab: could not save ${c.path}`, reason);
          return 0;
        }
      )
    )
  );
  return saved.reduce((a: number, b: number) => a + b, 0);
}

export class EndOfJobGuard implements IDisposable {
  constructor(
    private readonly _app: JupyterFrontEnd,
    private readonly _model: ResourcesModel,
    private readonly _docManager: IDocumentManager | null,
    private readonly _trans: TranslationBundle
  ) {
    _model.ticked.connect(this._check, this);
    _model.changed.connect(this._check, this);
  }

  set settings(value: IResourcesSettings) {
    this._settings = value;
  }

  /** "Save all" of the warnings and the command. */
  async saveAll(): Promise<number> {
    if (!this._docManager) {
      await this._app.commands.execute('docmanager:save-all');
      return 0;
    }
    return saveDirtyDocuments(this._app, this._docManager);
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._model.ticked.disconnect(this._check, this);
    this._model.changed.disconnect(this._check, this);
  }

  private _check(): void {
    const remaining = this._model.remaining();
    const time = this._model.data?.time;
    // Only thresholds shorter than the job, none before its half-way point
    // (effectiveThresholds in ./format has the rule).
    const decision = decideWarning(
      remaining,
      this._settings.warningMinutes,
      this._warned,
      time ? jobLengthSeconds(time) : null
    );
    this._warned = decision.warned;
    if (decision.warn !== null && remaining !== null) {
      this._warn(remaining);
    }
    this._checkMemory();
    if (
      autosaveDue(
        remaining,
        this._settings.autosave,
        this._settings.autosaveMinutes
      ) &&
      Date.now() - this._lastAutosave >= AUTOSAVE_EVERY_MS &&
      !this._saving
    ) {
      this._lastAutosave = Date.now();
      void this._autosave();
    }
  }

  private _warn(remaining: number): void {
    const trans = this._trans;
    if (this._notification !== null) {
      Notification.dismiss(this._notification);
    }
    const end = this._model.data?.time.end;
    const at = end ? new Date(end).toLocaleTimeString() : '';
    this._notification = Notification.warning(
      trans.__(
        'This session ends in %1 (at %2). Save your work: unsaved changes are lost when the job ends.',
        formatDuration(remaining, trans),
        at
      ),
      {
        autoClose: false,
        actions: [
          {
            label: trans.__('Save all'),
            caption: trans.__('Save every open document with unsaved changes'),
            displayType: 'accent',
            callback: () => {
              void this.saveAll().then(n => {
                Notification.success(trans.__('Saved %1 document(s).', n), {
                  autoClose: 4000
                });
              });
            }
          }
        ]
      }
    );
  }

  /** Once per crossing of the memory share (again after it fell below). */
  private _checkMemory(): void {
    const data = this._model.data;
    if (!data) {
      return;
    }
    const warning = memoryWarning(data, this._settings.memoryWarningPercent);
    if (warning === null) {
      this._memoryWarned = false;
      return;
    }
    if (this._memoryWarned) {
      return;
    }
    this._memoryWarned = true;
    const trans = this._trans;
    Notification.warning(
      trans.__(
        'This session uses %1 of its %2 of memory: past the limit the job is killed and unsaved work is lost. %3 uses most (%4).',
        formatBytes(warning.usedBytes, trans),
        formatBytes(warning.limitBytes, trans),
        warning.notebook,
        formatBytes(warning.kernelBytes, trans)
      ),
      {
        autoClose: false,
        actions: [
          {
            label: trans.__('Save all'),
            caption: trans.__('Save every open document with unsaved changes'),
            displayType: 'accent',
            callback: () => {
              void this.saveAll().then(n => {
                Notification.success(trans.__('Saved %1 document(s).', n), {
                  autoClose: 4000
                });
              });
            }
          }
        ]
      }
    );
  }

  private async _autosave(): Promise<void> {
    this._saving = true;
    try {
      const n = await this.saveAll();
      if (n > 0) {
        Notification.info(
          this._trans.__(
            'The session ends soon: %1 document(s) saved automatically.',
            n
          ),
          { autoClose: 5000 }
        );
      }
    } catch (error) {
      console.error('sdcc_lab: auto-save failed', error);
    } finally {
      this._saving = false;
    }
  }

  private _settings: IResourcesSettings = DEFAULT_SETTINGS;
  private _warned: number[] = [];
  private _memoryWarned = false;
  private _notification: string | null = null;
  private _lastAutosave = 0;
  private _saving = false;
  private _isDisposed = false;
}
