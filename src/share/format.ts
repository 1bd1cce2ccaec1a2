/**
 * Pure helpers of the share UI (no JupyterLab application: unit-tested with jest).
 */
import { APIError, errorText } from '../api';
import { differenceText, IDifference, LABELS } from '../labels';
import { ITrans } from '../tokens';
import { describeSession } from '../session/format';
import { IShareEnvironment } from './types';

/** The fragment key that carries a link's token into JupyterLab (`#sdcc-share=TOKEN`). */
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

/** What a share token looks like (the service's signed, URL-safe tokens). */
const TOKEN_RE = /^[A-Za-z0-9_\-.]{16,8192}$/;

/**
 * The share token in a page address, and the address without it (the token
 * is taken out of the address bar once read, so a reload does not ask again).
 *
 * A link leads to JupyterLab with `#sdcc-share=TOKEN`: in the fragment, which
 * browsers never send to a server, so no access log sees it. The query form
 * `?sdcc-share=TOKEN` of older links is still read (and removed).
 */
export function takeShareToken(href: string): {
  token: string | null;
  cleaned: string;
} {
  const url = new URL(href);
  const fragment = new URLSearchParams(url.hash.replace(/^#/, ''));
  let token = fragment.get(SHARE_PARAM);
  if (token !== null) {
    fragment.delete(SHARE_PARAM);
    const rest = fragment.toString();
    url.hash = rest ? `#${rest}` : '';
  }
  const query = url.searchParams.get(SHARE_PARAM);
  if (query !== null) {
    url.searchParams.delete(SHARE_PARAM);
    token = token ?? query;
  }
  const cleaned = url.href.replace(/#$/, '');
  return { token: token && TOKEN_RE.test(token) ? token : null, cleaned };
}

/** The sessionStorage key where the service's link page leaves a token on Continue. */
export const PENDING_KEY = 'sdcc-share:continue';

/** Tokens left by the link page longer ago than this are ignored (ms). */
export const PENDING_MAX_AGE = 3600 * 1000;

/**
 * The token the service's link page left in this tab's sessionStorage when
 * the recipient pressed Continue, for when a form on the way (the hub's spawn
 * form) dropped the address's fragment. Read once (removed here), only for the
 * user it was left for, only if recent.
 */
export function takePendingToken(
  storage: Pick<Storage, 'getItem' | 'removeItem'> | null,
  user: string,
  now: number
): string | null {
  if (!storage) {
    return null;
  }
  let raw: string | null;
  try {
    raw = storage.getItem(PENDING_KEY);
    storage.removeItem(PENDING_KEY);
  } catch {
    return null; // storage refused (privacy settings)
  }
  if (!raw) {
    return null;
  }
  try {
    const entry = JSON.parse(raw);
    const fresh =
      typeof entry?.at === 'number' &&
      now - entry.at >= 0 &&
      now - entry.at < PENDING_MAX_AGE;
    const token = typeof entry?.token === 'string' ? entry.token : '';
    if (fresh && entry.user === user && user && TOKEN_RE.test(token)) {
      return token;
    }
  } catch {
    // not ours
  }
  return null;
}

/** A date a user reads, in their own locale and time zone. */
export function formatWhen(iso: string): string {
  const date = new Date(iso);
  return isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** `[label, value]` rows describing an environment, translated. */
export function environmentRows(
  env: IShareEnvironment,
  trans: ITrans
): [string, string][] {
  const rows: [string, string][] = [];
  const kernel = env.kernelspec;
  if (kernel && (kernel.display_name || kernel.name)) {
    rows.push([
      trans.__(LABELS.kernel),
      String(kernel.display_name || kernel.name)
    ]);
  }
  if (env.scheduler !== undefined) {
    // The same words as Help → About this Session…
    rows.push(
      ...describeSession(
        { scheduler: env.scheduler, options: env.options ?? {} },
        trans
      )
    );
  }
  return rows;
}

/**
 * How this session differs from the link's, one line each, in the words of
 * the session's description ("QOS: gpu-qos in the link, normal in your
 * session"); a server without `differences` is read by its `mismatches`.
 */
export function mismatchLines(
  preview: { mismatches: string[]; differences?: IDifference[] },
  trans: ITrans
): string[] {
  return preview.differences
    ? preview.differences.map(d => differenceText(d, trans))
    : preview.mismatches;
}

/** What a user reads when a share call failed: the service's words, and what they mean. */
export function errorMessage(error: unknown, trans: ITrans): string {
  if (error instanceof APIError) {
    if (error.status === 410) {
      return trans.__('This link no longer works: %1', error.message);
    }
    if (error.status === 403) {
      return trans.__('This link cannot be used: %1', error.message);
    }
    if (error.status === 503) {
      return trans.__('Sharing is unavailable right now: %1', error.message);
    }
    return error.message;
  }
  return errorText(error);
}
