/**
 * axe-core checks for the accessibility specs (a11y.spec.ts, a11y.lab.spec.ts).
 *
 * `checkA11y` runs axe on a page, or on the project's own part of it
 * (`include`), and fails softly (the test goes on to the next page) when axe
 * finds a `serious` or `critical` violation; the failure lists every violation
 * axe found there, with its impact and the elements it names. Each check's
 * counts are printed and appended to test-results/axe-counts.jsonl, the
 * figures of the closing note ("before and after, per page").
 */
import AxeBuilder from '@axe-core/playwright';
import { expect, Page } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';

export interface IAxeScope {
  /** CSS selectors of the project's own DOM; the whole page when absent. */
  include?: string[];
  /** Parts left out, each with the reason in the spec. */
  exclude?: string[];
}

type Violation = Awaited<ReturnType<AxeBuilder['analyze']>>['violations'][number];

const SEVERE = new Set(['serious', 'critical']);

function describe(violations: Violation[]): string[] {
  return violations.map(
    v =>
      `${v.id} (${v.impact}): ${v.help} — ${v.nodes
        .map(n => n.target.join(' '))
        .join(' | ')}`
  );
}

function record(entry: Record<string, unknown>): void {
  const file = path.join('test-results', 'axe-counts.jsonl');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.appendFileSync(file, JSON.stringify(entry) + '\n');
}

/** All violations axe finds in `scope` (no assertion): for the core's own counts. */
export async function axeViolations(
  page: Page,
  scope: IAxeScope = {}
): Promise<Violation[]> {
  // Legacy mode: axe runs in the page itself. Otherwise analyze() opens a blank
  // page in the context for each check (for cross-origin frames, which these
  // pages do not have), and that newPage hung after some 25 checks here.
  let builder = new AxeBuilder({ page }).setLegacyMode(true);
  for (const selector of scope.include ?? []) {
    builder = builder.include(selector);
  }
  for (const selector of scope.exclude ?? []) {
    builder = builder.exclude(selector);
  }
  return (await builder.analyze()).violations;
}

/** Zero serious or critical violations in `scope`; the message lists all of them. */
export async function checkA11y(
  page: Page,
  name: string,
  scope: IAxeScope = {}
): Promise<void> {
  const violations = await axeViolations(page, scope);
  const severe = violations.filter(v => SEVERE.has(v.impact ?? ''));
  const entry = {
    page: name,
    violations: violations.length,
    severe: severe.length,
    nodes: violations.reduce((n, v) => n + v.nodes.length, 0),
    ids: violations.map(v => `${v.id}:${v.impact}`)
  };
  record(entry);
  console.log(`axe ${JSON.stringify(entry)}`);
  expect
    .soft(
      describe(severe),
      `${name}: axe found ${violations.length} violation(s):\n${describe(violations).join('\n')}`
    )
    .toEqual([]);
}

/** Log what axe finds on the whole page (JupyterLab's own parts): not asserted. */
export async function logCoreViolations(page: Page, name: string): Promise<void> {
  const violations = await axeViolations(page);
  const entry = {
    page: `${name} (whole page, not asserted)`,
    violations: violations.length,
    severe: violations.filter(v => SEVERE.has(v.impact ?? '')).length,
    ids: describe(violations)
  };
  record(entry);
  console.log(`axe ${JSON.stringify(entry)}`);
}
