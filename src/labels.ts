/**
 * The display names users read, from the one table the Python side reads too
 * (`sdcc_lab/labels.json`): the About dialog, the share dialogs, the
 * resources panel, the share service's pages, the spawn form and the
 * spawner's progress messages name a session the same way. Every name goes
 * through the translator where it is shown.
 *
 * The rules of a shown option (`sdcc_lab/labels.py` applies the same ones): a
 * value that says "nothing" is left out (null, '', a boolean such as `local`,
 * and the values an entry lists under `hide`: `gpu: "none"`, `gpus: 0`); an
 * entry's `value` gives the unit ("%1 min"); a key the table does not know is
 * shown as itself.
 */
import table from '../sdcc_lab/labels.json';
import { ITrans } from './tokens';

/** One session option of the table. */
export interface IOptionLabel {
  key: string;
  /** What the value is: "Runtime". */
  label: string;
  /** The spawn form's field label, when it differs: "Runtime (min)". */
  field?: string;
  /** The value with its unit, `%1` the value: "%1 min". */
  value?: string;
  /** Values that mean "none" and are not shown. */
  hide?: (string | number)[];
}

/** The shape of `sdcc_lab/labels.json` (the Python side types it in `sdcc_lab/labels.py`). */
export interface ILabels {
  /** Scheduler value → what the session is, e.g. "Slurm batch job". */
  schedulers: { [scheduler: string]: string };
  /** Scheduler value → a job of it, `%1` the job id, e.g. "Slurm job %1". */
  jobs: { [scheduler: string]: string };
  /** Said when the scheduler is not known. */
  unknownScheduler: string;
  /** The row label of the scheduler. */
  where: string;
  /** The row label of a notebook's kernel. */
  kernel: string;
  /** Said of an option a session does not have. */
  none: string;
  /** Session options in the order a user reads them, with their labels. */
  options: IOptionLabel[];
  /** Options never shown (internal switches). */
  hiddenOptions: string[];
  /** A difference between a link's environment and this session. */
  mismatch: {
    /** `%1` the label, `%2` the link's value, `%3` the session's. */
    differs: string;
    /** `%1` the kernel label, `%2` the kernel's name. */
    kernel: string;
  };
}

export const LABELS: ILabels = table;

/** A value of a session option, as JSON gives it. */
export type OptionValue = string | number | boolean | null | undefined;

/** What the session is: "Slurm batch job"; an unknown value as itself, none as "Unknown". */
export function schedulerName(
  scheduler: string | null | undefined,
  trans: ITrans
): string {
  if (!scheduler) {
    return trans.__(LABELS.unknownScheduler);
  }
  const name = LABELS.schedulers[scheduler];
  return name === undefined ? scheduler : trans.__(name);
}

/** The session's job: "Slurm job 123"; the scheduler's name without a job id or a job name. */
export function jobName(
  scheduler: string | null | undefined,
  id: string | null,
  trans: ITrans
): string {
  const job = scheduler ? LABELS.jobs[scheduler] : undefined;
  return job !== undefined && id
    ? trans.__(job, id)
    : schedulerName(scheduler, trans);
}

function entryOf(key: string): IOptionLabel | undefined {
  return LABELS.options.find(o => o.key === key);
}

/** The label of a session option ("Partition"), or the key itself when the table has none. */
export function optionLabel(key: string, trans: ITrans): string {
  const entry = entryOf(key);
  return entry === undefined ? key : trans.__(entry.label);
}

/** An option's value as a user reads it ("60 min"), or null when it says nothing. */
export function optionValue(
  key: string,
  value: OptionValue,
  trans: ITrans
): string | null {
  if (
    value === null ||
    value === undefined ||
    value === '' ||
    typeof value === 'boolean' ||
    LABELS.hiddenOptions.includes(key)
  ) {
    return null;
  }
  const entry = entryOf(key);
  if (entry === undefined) {
    return String(value);
  }
  if (entry.hide?.includes(value)) {
    return null;
  }
  return entry.value ? trans.__(entry.value, value) : String(value);
}

/** `[label, value]` per option that says something: the table's order, then the rest by key. */
export function optionRows(
  options: { [key: string]: OptionValue },
  trans: ITrans
): [string, string][] {
  const rows: [string, string][] = [];
  const known = new Set<string>();
  for (const { key, label } of LABELS.options) {
    known.add(key);
    const text = optionValue(key, options[key], trans);
    if (text !== null) {
      rows.push([trans.__(label), text]);
    }
  }
  for (const key of Object.keys(options).sort()) {
    const text = known.has(key) ? null : optionValue(key, options[key], trans);
    if (text !== null) {
      rows.push([key, text]);
    }
  }
  return rows;
}

/** One difference between a link's environment and this session (`POST imports/preview`). */
export interface IDifference {
  /** An option's key, or `scheduler`, or `kernel` (then `link` is the kernel's name). */
  key: string;
  link: OptionValue;
  session: OptionValue;
}

/** A difference in words: "QOS: gpu-qos in the link, normal in your session". */
export function differenceText(diff: IDifference, trans: ITrans): string {
  if (diff.key === 'kernel') {
    return trans.__(
      LABELS.mismatch.kernel,
      trans.__(LABELS.kernel),
      String(diff.link)
    );
  }
  if (diff.key === 'scheduler') {
    const name = (v: OptionValue) =>
      schedulerName(typeof v === 'string' ? v : null, trans);
    return trans.__(
      LABELS.mismatch.differs,
      trans.__(LABELS.where),
      name(diff.link),
      name(diff.session)
    );
  }
  const none = trans.__(LABELS.none);
  return trans.__(
    LABELS.mismatch.differs,
    optionLabel(diff.key, trans),
    optionValue(diff.key, diff.link, trans) ?? none,
    optionValue(diff.key, diff.session, trans) ?? none
  );
}
