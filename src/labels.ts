/**
 * The display names users read, from the one table the Python side reads too
 * (`sdcc_lab/labels.json`): the About dialog, the share dialogs, the
 * resources panel and the share service's pages name a session the same way.
 * Every name goes through the translator where it is shown.
 */
import table from '../sdcc_lab/labels.json';
import { ITrans } from './tokens';

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
  /** Session options in the order a user reads them, with their labels. */
  options: { key: string; label: string }[];
}

export const LABELS: ILabels = table;

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

/** The label of a session option ("Partition"), or the key itself when the table has none. */
export function optionLabel(key: string, trans: ITrans): string {
  const entry = LABELS.options.find(o => o.key === key);
  return entry === undefined ? key : trans.__(entry.label);
}
