/**
 * Pure helpers of the resources panel: time and size formatting, the
 * countdown, clock skew, warning thresholds. No JupyterLab runtime here, so
 * jest tests them directly.
 */
import { ITrans } from '../tokens';
import { IKernelUsage, IResources, IStorage } from './types';
const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/**
 * A countdown: `H:MM:SS` below a day, `N d HH:MM:SS` above (days are never
 * dropped); `0:00:00` once the end has passed; "unknown" without an end.
 */
export function formatCountdown(seconds: number | null, trans: ITrans): string {
  if (seconds === null || !Number.isFinite(seconds)) {
    return trans.__('unknown');
  }
  const s = Math.max(0, Math.floor(seconds));
  const days = Math.floor(s / DAY);
  const h = Math.floor((s % DAY) / HOUR);
  const m = Math.floor((s % HOUR) / MINUTE);
  const sec = s % MINUTE;
  if (days > 0) {
    return trans.__('%1 d %2:%3:%4', days, pad(h), pad(m), pad(sec));
  }
  return `${h}:${pad(m)}:${pad(sec)}`;
}

/** A duration in words, to the minute: "2 d 4 h", "1 h 30 min", "45 min", "< 1 min". */
export function formatDuration(seconds: number | null, trans: ITrans): string {
  if (seconds === null || !Number.isFinite(seconds)) {
    return trans.__('unknown');
  }
  const s = Math.max(0, Math.round(seconds));
  if (s < MINUTE) {
    return trans.__('< 1 min');
  }
  const days = Math.floor(s / DAY);
  const h = Math.floor((s % DAY) / HOUR);
  const m = Math.floor((s % HOUR) / MINUTE);
  if (days > 0) {
    return h > 0 ? trans.__('%1 d %2 h', days, h) : trans.__('%1 d', days);
  }
  if (h > 0) {
    return m > 0 ? trans.__('%1 h %2 min', h, m) : trans.__('%1 h', h);
  }
  return trans.__('%1 min', m);
}

/** Bytes in binary units with one decimal: "7.5 GiB", "512.0 MiB". */
export function formatBytes(bytes: number | null, trans: ITrans): string {
  if (bytes === null || !Number.isFinite(bytes) || bytes < 0) {
    return trans.__('unknown');
  }
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** A number of CPUs: "2", "0.5". */
export function formatCpus(cpus: number | null, trans: ITrans): string {
  if (cpus === null || !Number.isFinite(cpus)) {
    return trans.__('unknown');
  }
  return Number.isInteger(cpus)
    ? String(cpus)
    : cpus.toFixed(2).replace(/0$/, '');
}

/** `used / limit` as a percent clamped to 0–100, or null when either is unknown. */
export function percentOf(
  used: number | null,
  limit: number | null
): number | null {
  if (
    used === null ||
    limit === null ||
    !(limit > 0) ||
    !Number.isFinite(used)
  ) {
    return null;
  }
  return Math.min(100, Math.max(0, (used / limit) * 100));
}

/**
 * The server's clock minus the browser's (ms), from a response stamped
 * `serverIso` that was requested at `sentMs` and received at `receivedMs`
 * (browser clock): the server stamped it, on average, half-way.
 */
export function clockSkew(
  serverIso: string,
  sentMs: number,
  receivedMs: number
): number {
  const server = Date.parse(serverIso);
  if (Number.isNaN(server)) {
    return 0;
  }
  return server - (sentMs + receivedMs) / 2;
}

/** Seconds left until `endIso` at browser time `nowMs`, corrected by `skewMs`; may be negative. */
export function remainingSeconds(
  endIso: string | null,
  nowMs: number,
  skewMs: number
): number | null {
  if (endIso === null) {
    return null;
  }
  const end = Date.parse(endIso);
  if (Number.isNaN(end)) {
    return null;
  }
  return (end - (nowMs + skewMs)) / 1000;
}

/** The warning state: thresholds (minutes) already warned about. */
export interface IWarningDecision {
  /** The threshold to warn about now, or null. */
  warn: number | null;
  /** Thresholds that count as warned after this decision. */
  warned: number[];
}

/**
 * A job's length in seconds: from its start to its end (which follows an
 * extension), else its time limit; null when neither is known.
 */
export function jobLengthSeconds(time: {
  start: string | null;
  end: string | null;
  limit_seconds: number | null;
}): number | null {
  const start = time.start === null ? NaN : Date.parse(time.start);
  const end = time.end === null ? NaN : Date.parse(time.end);
  if (Number.isFinite(start) && Number.isFinite(end) && end > start) {
    return (end - start) / 1000;
  }
  const limit = time.limit_seconds;
  return limit !== null && Number.isFinite(limit) && limit > 0 ? limit : null;
}

/**
 * The warning thresholds (minutes before the end) that apply to a job of
 * `lengthSeconds`. The rule (docs/user-guide.md, "Before the end of a job"):
 * - a threshold at or above the job's length never fires: it would fire the
 *   moment the job starts ("ends in 29 min" as a 30-minute session opens);
 * - a threshold beyond half the job's length fires at its half-way point
 *   instead, so the first warning of a short job comes half-way through it,
 *   when there is both something to save and time left to save it;
 * - thresholds that land on the same point warn once.
 * An unknown length keeps the thresholds as set.
 */
export function effectiveThresholds(
  thresholds: number[],
  lengthSeconds: number | null
): number[] {
  const valid = thresholds.filter(t => Number.isFinite(t) && t > 0);
  if (lengthSeconds === null || !(lengthSeconds > 0)) {
    return [...new Set(valid)];
  }
  const half = lengthSeconds / 2 / 60;
  const kept = valid
    .filter(t => t * 60 < lengthSeconds)
    .map(t => Math.min(t, half));
  return [...new Set(kept)];
}

/**
 * Which warning to show at `remaining` seconds, given the thresholds already
 * warned about. Only the smallest crossed threshold is shown (a page opened
 * with 5 minutes left warns once, not three times); thresholds the end moved
 * away from (an extended job) are armed again. Unknown time warns never.
 * With the job's length, the thresholds are those of `effectiveThresholds`.
 */
export function decideWarning(
  remaining: number | null,
  thresholds: number[],
  warned: number[],
  lengthSeconds: number | null = null
): IWarningDecision {
  if (remaining === null) {
    return { warn: null, warned: [...warned] };
  }
  const valid = effectiveThresholds(thresholds, lengthSeconds);
  const crossed = valid.filter(t => remaining <= t * 60);
  const stillWarned = warned.filter(t => crossed.includes(t));
  if (remaining <= 0 || crossed.length === 0) {
    return { warn: null, warned: remaining <= 0 ? crossed : stillWarned };
  }
  const smallest = Math.min(...crossed);
  if (stillWarned.includes(smallest)) {
    return { warn: null, warned: stillWarned };
  }
  return { warn: smallest, warned: crossed };
}

/** True when documents should be saved on their own at `remaining` seconds. */
export function autosaveDue(
  remaining: number | null,
  enabled: boolean,
  leadMinutes: number
): boolean {
  return (
    enabled &&
    remaining !== null &&
    remaining <= leadMinutes * 60 &&
    remaining > -60
  );
}

/** The memory warning: the notebook using most once the job passes its share. */
export interface IMemoryWarning {
  /** The kernel's notebook (or the kernel's id where it has none). */
  notebook: string;
  kernelBytes: number;
  usedBytes: number;
  limitBytes: number;
}

/**
 * Whether the session is near its memory limit: `share` of
 * `allocation.memory_bytes` (the user's percent, else the site's share) is passed.
 * Null when off, below, or without a limit or kernels.
 */
export function memoryWarning(
  data: IResources,
  userPercent: number | null
): IMemoryWarning | null {
  const share =
    userPercent !== null ? userPercent / 100 : (data.memory_warning_share ?? 0);
  const used = data.usage.memory_bytes;
  const limit = data.allocation.memory_bytes;
  if (!(share > 0) || used === null || limit === null || limit <= 0) {
    return null;
  }
  if (used < share * limit) {
    return null;
  }
  let top: IKernelUsage | null = null;
  for (const k of data.usage.kernels ?? []) {
    if ((k.memory_bytes ?? 0) > (top?.memory_bytes ?? -1)) {
      top = k;
    }
  }
  if (top === null) {
    return null;
  }
  return {
    notebook: top.path ?? top.id,
    kernelBytes: top.memory_bytes ?? 0,
    usedBytes: used,
    limitBytes: limit
  };
}

/** The storage line's level: 'over' past the hard limit or soft, 'near' past the share. */
export function storageLevel(
  s: IStorage | null
): 'ok' | 'near' | 'over' | null {
  if (s === null || s.used_bytes === null) {
    return null;
  }
  const limit = s.hard_bytes ?? s.soft_bytes;
  if (s.over_soft || (limit !== null && s.used_bytes >= limit)) {
    return 'over';
  }
  if (limit !== null && s.used_bytes >= s.warning_share * limit) {
    return 'near';
  }
  return 'ok';
}

/** The kernel with the highest peak (the panel marks it), or null. */
export function peakKernel(kernels: IKernelUsage[] | null): string | null {
  let best: IKernelUsage | null = null;
  for (const k of kernels ?? []) {
    if ((k.peak_memory_bytes ?? 0) > (best?.peak_memory_bytes ?? 0)) {
      best = k;
    }
  }
  return best?.id ?? null;
}
