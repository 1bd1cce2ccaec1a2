/**
 * Pure helpers that turn a session identity into words a user reads.
 */
import { LABELS, schedulerName } from '../labels';
import { ISessionIdentity, ITrans } from '../tokens';

/** One `[label, value]` row per known fact of the session, translated. */
export function describeSession(
  session: ISessionIdentity,
  trans: ITrans
): [string, string][] {
  const rows: [string, string][] = [
    [trans.__(LABELS.where), schedulerName(session.scheduler, trans)]
  ];
  // `local` is already said by "Where".
  const known = new Set<string>(['local']);
  for (const { key, label } of LABELS.options) {
    known.add(key);
    const value = session.options[key];
    if (value !== undefined && value !== null && value !== '') {
      rows.push([trans.__(label), String(value)]);
    }
  }
  for (const key of Object.keys(session.options).sort()) {
    const value = session.options[key];
    if (!known.has(key) && value !== null && value !== '') {
      rows.push([key, String(value)]);
    }
  }
  if (session.problem) {
    rows.push([trans.__('Problem'), session.problem]);
  }
  return rows;
}
