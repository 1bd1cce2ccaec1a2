/**
 * Pure helpers of the share UI (no JupyterLab runtime: unit-tested with jest).
 */
import { describeSession } from '../session';
import { IShareEnvironment } from './types';

/** The query parameter that carries a link's token into JupyterLab. */
export const SHARE_PARAM = 'sdcc-share';

export const HOUR = 3600;
export const DAY = 24 * HOUR;

/** Expiry choices offered to the sender, as `[seconds, label]`. */
export const EXPIRY_CHOICES: [number, string][] = [
  [HOUR, '1 hour'],
  [DAY, '1 day'],
  [7 * DAY, '7 days']
];

/** The choices within the site's maximum (all of them when it is unknown). */
export function expiryChoices(maxSeconds?: number): [number, string][] {
  if (!maxSeconds) {
    return EXPIRY_CHOICES;
  }
  const within = EXPIRY_CHOICES.filter(([s]) => s <= maxSeconds);
  return within.length ? within : [EXPIRY_CHOICES[0]];
}

/** A link as the user copies it: absolute, against the page's own address. */
export function absoluteLink(url: string, base: string): string {
  return new URL(url, base).href;
}

/** Whether a path names a notebook. */
export function isNotebookPath(path: string | undefined | null): boolean {
  return !!path && path.toLowerCase().endsWith('.ipynb');
}

/**
 * The share token in a page address, and the address without it
 * (the token is taken out of the address bar once read).
 */
export function takeShareToken(href: string): {
  token: string | null;
  cleaned: string;
} {
  const url = new URL(href);
  const token = url.searchParams.get(SHARE_PARAM);
  url.searchParams.delete(SHARE_PARAM);
  return { token, cleaned: url.href };
}

/** A date a user reads, in their own locale and time zone. */
export function formatWhen(iso: string): string {
  const date = new Date(iso);
  return isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** `[label, value]` rows describing an environment (labels are translated by the caller). */
export function environmentRows(env: IShareEnvironment): [string, string][] {
  const rows: [string, string][] = [];
  const kernel = env.kernelspec;
  if (kernel && (kernel.display_name || kernel.name)) {
    rows.push(['Kernel', String(kernel.display_name || kernel.name)]);
  }
  if (env.scheduler !== undefined) {
    // The same words as Help → About this Session…
    rows.push(...describeSession({ scheduler: env.scheduler, options: env.options ?? {} }));
  }
  return rows;
}
