/**
 * Pure helpers that turn a session identity into words a user reads.
 */
import { LABELS, optionRows, schedulerName } from '../labels';
import { ISessionIdentity, ITrans } from '../tokens';

/**
 * One `[label, value]` row per known fact of the session, translated: where it
 * runs, then its options with their units, leaving out what says nothing
 * (`local`, empty values, no GPU) — `src/labels.ts` has the rules.
 */
export function describeSession(
  session: ISessionIdentity,
  trans: ITrans
): [string, string][] {
  const rows: [string, string][] = [
    [trans.__(LABELS.where), schedulerName(session.scheduler, trans)],
    ...optionRows(session.options, trans)
  ];
  if (session.problem) {
    rows.push([trans.__('Problem'), session.problem]);
  }
  return rows;
}
