/**
 * Pure helpers that turn a session identity into words a user reads.
 */
import { ISessionIdentity } from './tokens';

const SCHEDULER_NAMES: { [key: string]: string } = {
  local: 'Local session on the hub node',
  slurm: 'Slurm batch job',
  htcondor: 'HTCondor batch job'
};

/** Option keys in the order a user expects them, with their labels. */
const OPTION_LABELS: [string, string][] = [
  ['partition', 'Partition'],
  ['account', 'Account'],
  ['qos', 'QOS'],
  ['gpu', 'GPU'],
  ['gpus', 'GPUs'],
  ['runtime', 'Runtime (min)'],
  ['environment', 'Environment']
];

/** One `[label, value]` row per known fact of the session. */
export function describeSession(session: ISessionIdentity): [string, string][] {
  const rows: [string, string][] = [];
  if (session.scheduler === null) {
    rows.push(['Where', 'Unknown']);
  } else {
    rows.push(['Where', SCHEDULER_NAMES[session.scheduler] ?? session.scheduler]);
  }
  // `local` is already said by "Where".
  const known = new Set<string>(['local']);
  for (const [key, label] of OPTION_LABELS) {
    known.add(key);
    const value = session.options[key];
    if (value !== undefined && value !== null && value !== '') {
      rows.push([label, String(value)]);
    }
  }
  for (const key of Object.keys(session.options).sort()) {
    const value = session.options[key];
    if (!known.has(key) && value !== null && value !== '') {
      rows.push([key, String(value)]);
    }
  }
  if (session.problem) {
    rows.push(['Problem', session.problem]);
  }
  return rows;
}
