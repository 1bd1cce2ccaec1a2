/**
 * The status-bar item: the time left, for sessions that have an end.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { formatCountdown, formatDuration } from './format';
import { ResourcesModel } from './model';

export class RemainingTimeItem extends ReactWidget {
  constructor(
    private readonly _model: ResourcesModel,
    private readonly _trans: TranslationBundle,
    private readonly _onClick: () => void
  ) {
    super();
    this.addClass('jp-sdcc-RemainingTime');
    _model.changed.connect(this.update, this);
    _model.ticked.connect(this.update, this);
  }

  dispose(): void {
    this._model.changed.disconnect(this.update, this);
    this._model.ticked.disconnect(this.update, this);
    super.dispose();
  }

  render(): JSX.Element | null {
    const remaining = this._model.remaining();
    if (remaining === null) {
      return null;
    }
    const text = this._trans.__(
      '%1 left',
      formatCountdown(remaining, this._trans)
    );
    const near = remaining <= 10 * 60;
    // What a screen reader announces (politely): whole minutes, so the region
    // changes once a minute, or when the session nears its end; never each second.
    const minutes = formatDuration(
      Math.floor(remaining / 60) * 60,
      this._trans
    );
    const spoken =
      remaining <= 0
        ? this._trans.__('This session has reached its end time')
        : near
          ? this._trans.__('This session ends soon: %1 left', minutes)
          : this._trans.__('%1 left in this session', minutes);
    return (
      <>
        <button
          type="button"
          className={`jp-sdcc-RemainingTimeButton${near ? ' jp-mod-near' : ''}`}
          title={this._trans.__(
            'Time left in this batch job: open Session resources'
          )}
          aria-label={this._trans.__('Time left in this session: %1', text)}
          onClick={this._onClick}
        >
          {text}
        </button>
        <span
          className="jp-sdcc-VisuallyHidden"
          role="status"
          aria-live="polite"
          aria-atomic="true"
        >
          {spoken}
        </span>
      </>
    );
  }
}
