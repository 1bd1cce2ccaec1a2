/**
 * The Session resources sidebar: where the session runs, what it has and
 * uses, and its wall time. A ReactWidget that re-renders on the model's
 * signals; all state lives in the model.
 */
import { ReactWidget, LabIcon } from '@jupyterlab/ui-components';
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { jobName, LABELS, optionLabel } from '../labels';

import {
  formatBytes,
  formatCountdown,
  formatCpus,
  formatDuration,
  peakKernel,
  percentOf,
  storageLevel
} from './format';
import { ResourcesModel } from './model';
import { IResources } from './types';
import { WorkersModel } from './workersmodel';

const GAUGE_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
<path class="jp-icon3" fill="#616161" d="M12 4a10 10 0 0 0-10 10c0 2.4.85 4.6 2.26 6.32l1.54-1.28A8 8 0 1 1 20 14c0 1.93-.69 3.7-1.83 5.08l1.54 1.28A10 10 0 0 0 12 4zm4.95 4.64-5.66 4.24a1.5 1.5 0 1 0 2.12 2.12z"/>
</svg>`;

export const resourcesIcon = new LabIcon({
  name: 'sdcc-lab:resources',
  svgstr: GAUGE_SVG
});

/** A labelled bar with its numbers; "unknown" instead of a bar when a value is missing. */
function UsageBar(props: {
  label: string;
  used: number | null;
  limit: number | null;
  text: string;
  trans: TranslationBundle;
}): JSX.Element {
  const pct = percentOf(props.used, props.limit);
  const level =
    pct === null
      ? ''
      : pct >= 95
        ? ' jp-sdcc-Bar-critical'
        : pct >= 80
          ? ' jp-sdcc-Bar-high'
          : '';
  return (
    <div className="jp-sdcc-Usage">
      <div className="jp-sdcc-UsageLabel">
        <span>{props.label}</span>
        <span className="jp-sdcc-UsageText">{props.text}</span>
      </div>
      {pct === null ? null : (
        <div
          className={`jp-sdcc-Bar${level}`}
          role="progressbar"
          aria-label={props.label}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={Math.round(pct)}
          aria-valuetext={props.text}
        >
          <div className="jp-sdcc-BarFill" style={{ width: `${pct}%` }} />
        </div>
      )}
    </div>
  );
}

function Row(props: {
  label: string;
  value: string | null;
  trans: TranslationBundle;
}): JSX.Element {
  return (
    <tr>
      <th scope="row">{props.label}</th>
      <td className={props.value === null ? 'jp-sdcc-Unknown' : undefined}>
        {props.value ?? props.trans.__('unknown')}
      </td>
    </tr>
  );
}

function localTime(iso: string | null): string | null {
  if (iso === null) {
    return null;
  }
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d.toLocaleString();
}

/** "Extend": more time for the running job, within the hub's policy. */
export function ExtendControl(props: {
  model: ResourcesModel;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { model, trans } = props;
  const policy = model.extendPolicy;
  if (policy === null) {
    return null;
  }
  const outcome = model.extendMessage;
  const end = localTime(model.data?.time.end ?? null);
  const said =
    outcome === null
      ? policy.available
        ? trans._n(
            '%1 extension left.',
            '%1 extensions left.',
            policy.extensions_left
          )
        : (policy.reason ?? '')
      : outcome.ok
        ? trans.__(
            'Extended by %1 min: the session now ends at %2.',
            outcome.minutes,
            end ?? trans.__('unknown')
          )
        : trans.__('Not extended: %1', outcome.text);
  return (
    <div className="jp-sdcc-Extend">
      {policy.available ? (
        <form
          className="jp-sdcc-ExtendForm"
          onSubmit={event => {
            event.preventDefault();
            const select = event.currentTarget.elements.namedItem(
              'minutes'
            ) as HTMLSelectElement | null;
            void model.extend(Number(select?.value ?? policy.minutes[0]));
          }}
        >
          <label htmlFor="jp-sdcc-extend-minutes">
            {trans.__('More time')}
          </label>{' '}
          <select
            id="jp-sdcc-extend-minutes"
            name="minutes"
            className="jp-mod-styled"
            disabled={model.extending}
          >
            {policy.minutes.map(m => (
              <option key={m} value={m}>
                {trans.__('%1 min', m)}
              </option>
            ))}
          </select>{' '}
          <button
            type="submit"
            className="jp-Button jp-mod-styled jp-mod-accept jp-sdcc-SmallButton"
            disabled={model.extending}
          >
            {trans.__('Extend')}
          </button>
        </form>
      ) : null}
      <p
        className="jp-sdcc-Note"
        role={outcome !== null && !outcome.ok ? 'alert' : 'status'}
      >
        {said}
      </p>
    </div>
  );
}

/** The session's Dask worker jobs, each with a button that cancels it. */
export function WorkersSection(props: {
  model: WorkersModel;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { model, trans } = props;
  const section = React.useRef<HTMLElement>(null);
  const workers = model.workers;
  if (workers.length === 0 && model.error === null) {
    return null;
  }
  // The pressed Cancel button goes with its row: the focus stays in the
  // section (or the panel, once the last worker is gone), not on the page.
  const cancel = (id: string | null): void => {
    const node = section.current;
    const target =
      id === null || workers.length === 1
        ? node?.closest<HTMLElement>('.jp-sdcc-ResourcesPanel')
        : node;
    if (node?.contains(document.activeElement)) {
      target?.focus();
    }
    void model.cancel(id);
  };
  return (
    <section
      aria-labelledby="jp-sdcc-res-workers"
      className="jp-sdcc-Workers"
      ref={section}
      tabIndex={-1}
    >
      <h3 id="jp-sdcc-res-workers">{trans.__('Dask workers')}</h3>
      {model.error !== null ? (
        <p className="jp-sdcc-Note" role="alert">
          {trans.__('Worker jobs: %1', model.error)}
        </p>
      ) : null}
      {workers.length > 0 ? (
        <>
          <table className="jp-sdcc-SessionTable jp-sdcc-WorkersTable">
            <thead>
              <tr>
                <th scope="col">{trans.__('Job')}</th>
                <th scope="col">{trans.__('State')}</th>
                <th scope="col">{trans.__('Resources')}</th>
                <th scope="col">
                  <span className="jp-sdcc-VisuallyHidden">
                    {trans.__('Cancel')}
                  </span>
                </th>
              </tr>
            </thead>
            <tbody>
              {workers.map(w => (
                <tr key={w.id}>
                  <td>{w.id}</td>
                  <td>{w.reason ? `${w.state} (${w.reason})` : w.state}</td>
                  <td>
                    {[
                      w.cpus === null
                        ? null
                        : trans._n('%1 CPU', '%1 CPUs', w.cpus),
                      w.memory_bytes === null
                        ? null
                        : formatBytes(w.memory_bytes, trans),
                      w.gpus ? trans._n('%1 GPU', '%1 GPUs', w.gpus) : null
                    ]
                      .filter(Boolean)
                      .join(', ')}
                  </td>
                  <td>
                    <button
                      className="jp-Button jp-mod-styled jp-mod-warn jp-sdcc-SmallButton"
                      disabled={
                        model.isCancelling(w.id) || model.isCancelling(null)
                      }
                      aria-label={trans.__('Cancel worker job %1', w.id)}
                      onClick={() => cancel(w.id)}
                    >
                      {trans.__('Cancel')}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {workers.length > 1 ? (
            <button
              className="jp-Button jp-mod-styled jp-mod-warn jp-sdcc-SmallButton"
              disabled={model.isCancelling(null)}
              onClick={() => cancel(null)}
            >
              {trans.__('Cancel all worker jobs')}
            </button>
          ) : null}
        </>
      ) : null}
    </section>
  );
}

/** The whole panel's content for one state of the model. */
/** Per running kernel: its notebook, memory (the peak marked), CPU and GPU memory. */
export function KernelTable(props: {
  data: IResources;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { data, trans } = props;
  const kernels = data.usage.kernels ?? null;
  if (kernels === null) {
    return null;
  }
  const peak = peakKernel(kernels);
  const limit = data.allocation.memory_bytes;
  const hasGpu = kernels.some(k => k.gpu_memory_bytes !== null);
  return (
    <section aria-labelledby="jp-sdcc-res-kernels">
      <h3 id="jp-sdcc-res-kernels">{trans.__('Kernels')}</h3>
      {kernels.length === 0 ? (
        <p className="jp-sdcc-Note">{trans.__('No kernel is running.')}</p>
      ) : (
        <table className="jp-sdcc-KernelTable">
          <thead>
            <tr>
              <th scope="col">{trans.__('Notebook')}</th>
              <th scope="col">{trans.__('Memory')}</th>
              <th scope="col">{trans.__('Peak')}</th>
              <th scope="col">{trans.__('CPU')}</th>
              {hasGpu ? <th scope="col">{trans.__('GPU memory')}</th> : null}
            </tr>
          </thead>
          <tbody>
            {kernels.map(k => (
              <tr
                key={k.id}
                className={k.id === peak ? 'jp-sdcc-mod-peak' : undefined}
              >
                <th scope="row" title={k.path ?? k.id}>
                  {k.path
                    ? (k.path.split('/').pop() ?? k.path)
                    : trans.__('Kernel %1', k.id.slice(0, 8))}
                </th>
                <td>
                  {formatBytes(k.memory_bytes, trans)}
                  {limit && k.memory_bytes !== null
                    ? ` (${Math.round(percentOf(k.memory_bytes, limit) ?? 0)}%)`
                    : ''}
                </td>
                <td>
                  {formatBytes(k.peak_memory_bytes, trans)}
                  {k.id === peak ? (
                    <span className="jp-sdcc-PeakMark">
                      {' '}
                      {trans.__('(highest)')}
                    </span>
                  ) : null}
                </td>
                <td>
                  {k.cpu_percent === null
                    ? trans.__('unknown')
                    : `${Math.round(k.cpu_percent)}%`}
                </td>
                {hasGpu ? (
                  <td>
                    {k.gpu_memory_bytes === null
                      ? '–'
                      : formatBytes(k.gpu_memory_bytes, trans)}
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The home folder's usage against its quota, with a warning near the limit. */
export function StorageLine(props: {
  data: IResources;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { data, trans } = props;
  const s = data.storage ?? null;
  if (s === null) {
    return null;
  }
  const level = storageLevel(s);
  const limit = s.hard_bytes ?? s.soft_bytes;
  const text =
    s.used_bytes === null
      ? trans.__('not read yet')
      : s.source === 'df'
        ? trans.__(
            '%1 of %2 (no quota: the disk’s size)',
            formatBytes(s.used_bytes, trans),
            formatBytes(s.hard_bytes, trans)
          )
        : trans.__(
            '%1 of %2',
            formatBytes(s.used_bytes, trans),
            formatBytes(limit, trans)
          );
  return (
    <>
      <UsageBar
        label={trans.__('Home folder')}
        used={s.used_bytes}
        limit={limit}
        text={text}
        trans={trans}
      />
      {level === 'near' || level === 'over' ? (
        <p className="jp-sdcc-Note jp-sdcc-mod-warn" role="status">
          {level === 'over'
            ? s.grace
              ? trans.__(
                  'Your home folder is over its quota: free space within %1 or writing stops (and the next session may not start).',
                  s.grace
                )
              : trans.__(
                  'Your home folder is full: free space, or writing stops and the next session may not start.'
                )
            : trans.__(
                'Your home folder is nearly full (%1%): free space before it reaches its limit.',
                Math.round(percentOf(s.used_bytes, limit) ?? 0)
              )}
        </p>
      ) : null}
    </>
  );
}

export function ResourcesView(props: {
  model: ResourcesModel;
  trans: TranslationBundle;
}): JSX.Element {
  const { model, trans } = props;
  const data = model.data;
  if (data === null) {
    return (
      <div className="jp-sdcc-Resources" aria-busy={model.error === null}>
        <p>
          {model.error === null
            ? trans.__('Reading this session’s resources…')
            : trans.__(
                'The session’s resources could not be read: %1',
                model.error
              )}
        </p>
      </div>
    );
  }
  const remaining = model.remaining();
  const cpuUsed =
    data.usage.cpu_percent === null ? null : data.usage.cpu_percent / 100;
  const gpus = data.usage.gpus ?? [];
  const hasEnd = data.time.end !== null;
  const batch = data.scheduler === 'slurm' || data.scheduler === 'htcondor';
  return (
    <div className="jp-sdcc-Resources">
      <section aria-labelledby="jp-sdcc-res-where">
        <h3 id="jp-sdcc-res-where">{trans.__(LABELS.where)}</h3>
        <table className="jp-sdcc-SessionTable">
          <tbody>
            <Row
              label={trans.__('Session')}
              value={jobName(data.scheduler, data.job.id, trans)}
              trans={trans}
            />
            <Row
              label={trans.__('Node')}
              value={data.job.nodes}
              trans={trans}
            />
            {batch ? (
              <Row
                label={optionLabel('partition', trans)}
                value={data.job.partition}
                trans={trans}
              />
            ) : null}
            {batch ? (
              <Row
                label={optionLabel('account', trans)}
                value={data.job.account}
                trans={trans}
              />
            ) : null}
            {batch ? (
              <Row
                label={optionLabel('qos', trans)}
                value={data.job.qos}
                trans={trans}
              />
            ) : null}
            <Row
              label={optionLabel('environment', trans)}
              value={data.job.environment}
              trans={trans}
            />
          </tbody>
        </table>
      </section>
      <section aria-labelledby="jp-sdcc-res-what">
        <h3 id="jp-sdcc-res-what">{trans.__('Resources')}</h3>
        <UsageBar
          label={trans.__('Memory')}
          used={data.usage.memory_bytes}
          limit={data.allocation.memory_bytes}
          text={trans.__(
            '%1 of %2',
            formatBytes(data.usage.memory_bytes, trans),
            formatBytes(data.allocation.memory_bytes, trans)
          )}
          trans={trans}
        />
        <UsageBar
          label={trans.__('CPU')}
          used={cpuUsed}
          limit={data.allocation.cpus}
          text={trans.__(
            '%1 of %2 CPUs',
            cpuUsed === null ? trans.__('unknown') : cpuUsed.toFixed(2),
            formatCpus(data.allocation.cpus, trans)
          )}
          trans={trans}
        />
        <div className="jp-sdcc-Usage">
          <div className="jp-sdcc-UsageLabel">
            <span>{optionLabel('gpus', trans)}</span>
            <span className="jp-sdcc-UsageText">
              {data.allocation.gpus === null
                ? trans.__('unknown')
                : String(data.allocation.gpus)}
            </span>
          </div>
        </div>
        {gpus.map(g => (
          <UsageBar
            key={g.id}
            label={trans.__('GPU %1', g.name ? `${g.id} (${g.name})` : g.id)}
            used={g.utilization_percent}
            limit={100}
            text={trans.__(
              '%1 busy, %2 of %3',
              g.utilization_percent === null
                ? trans.__('unknown')
                : `${Math.round(g.utilization_percent)}%`,
              formatBytes(g.memory_bytes, trans),
              formatBytes(g.memory_total_bytes, trans)
            )}
            trans={trans}
          />
        ))}
        <StorageLine data={data} trans={trans} />
        {data.allocation.gpus && data.usage.gpus === null ? (
          <p className="jp-sdcc-Note">
            {trans.__('GPU use is not available on this machine (no NVML).')}
          </p>
        ) : null}
        <p className="jp-sdcc-Note">
          {trans.__(
            'Limits from: %1. Usage of %2.',
            data.allocation.limits_from ?? trans.__('unknown'),
            data.usage.measured_from === 'cgroup'
              ? trans.__('the session’s cgroup')
              : data.usage.measured_from === 'processes'
                ? trans.__('the server and its kernels')
                : trans.__('unknown')
          )}
        </p>
      </section>
      <KernelTable data={data} trans={trans} />
      <section aria-labelledby="jp-sdcc-res-time">
        <h3 id="jp-sdcc-res-time">{trans.__('Wall time')}</h3>
        {hasEnd || data.time.limit_seconds !== null ? (
          <>
            <div
              className="jp-sdcc-Countdown"
              role="timer"
              aria-live="off"
              aria-label={trans.__('Time remaining')}
            >
              {remaining !== null && remaining <= 0
                ? trans.__('The job has reached its end time')
                : trans.__('%1 left', formatCountdown(remaining, trans))}
            </div>
            <table className="jp-sdcc-SessionTable">
              <tbody>
                <Row
                  label={trans.__('Limit')}
                  value={
                    data.time.limit_seconds === null
                      ? null
                      : formatDuration(data.time.limit_seconds, trans)
                  }
                  trans={trans}
                />
                <Row
                  label={trans.__('Start')}
                  value={localTime(data.time.start)}
                  trans={trans}
                />
                <Row
                  label={trans.__('End')}
                  value={localTime(data.time.end)}
                  trans={trans}
                />
              </tbody>
            </table>
          </>
        ) : data.scheduler === 'local' ? (
          <p>
            {trans.__(
              'This local session has no wall time: it runs until it is stopped.'
            )}
          </p>
        ) : (
          <p>{trans.__('The end of this job is unknown.')}</p>
        )}
        {batch ? <ExtendControl model={model} trans={trans} /> : null}
      </section>
      {data.problems.length > 0 || model.error !== null ? (
        <section
          aria-labelledby="jp-sdcc-res-problems"
          className="jp-sdcc-Problems"
        >
          <h3 id="jp-sdcc-res-problems">{trans.__('Not known')}</h3>
          <ul>
            {model.error !== null ? (
              <li>{trans.__('Last update failed: %1', model.error)}</li>
            ) : null}
            {data.problems.map((p, i) => (
              <li key={i}>{p}</li>
            ))}
          </ul>
        </section>
      ) : null}
    </div>
  );
}

/** The sidebar widget. */
export class ResourcesPanel extends ReactWidget {
  constructor(
    private readonly _model: ResourcesModel,
    private readonly _workers: WorkersModel,
    private readonly _trans: TranslationBundle
  ) {
    super();
    this.id = 'sdcc-lab-resources';
    this.addClass('jp-sdcc-ResourcesPanel');
    this.title.icon = resourcesIcon;
    this.title.caption = _trans.__('Session resources');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', _trans.__('Session resources'));
    // In the tab order: opening it from the keyboard (status bar, command
    // palette) puts the keyboard in it, and a keyboard alone can scroll it
    // when its tables are taller than the sidebar.
    this.node.tabIndex = 0;
    _model.changed.connect(this.update, this);
    _model.ticked.connect(this.update, this);
    _workers.changed.connect(this.update, this);
  }

  protected onAfterShow(): void {
    this._model.panelVisible = true;
    this._workers.active = true;
    this.update();
  }

  protected onActivateRequest(): void {
    if (!this.node.contains(document.activeElement)) {
      this.node.focus();
    }
  }

  protected onAfterHide(): void {
    this._model.panelVisible = false;
    this._workers.active = false;
  }

  dispose(): void {
    this._model.changed.disconnect(this.update, this);
    this._model.ticked.disconnect(this.update, this);
    this._workers.changed.disconnect(this.update, this);
    super.dispose();
  }

  render(): JSX.Element {
    return (
      <>
        <h2 className="jp-sdcc-ResourcesTitle">
          {this._trans.__('Session resources')}
        </h2>
        <ResourcesView model={this._model} trans={this._trans} />
        <WorkersSection model={this._workers} trans={this._trans} />
      </>
    );
  }
}
