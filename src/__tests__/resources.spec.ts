import {
  autosaveDue,
  clockSkew,
  decideWarning,
  formatBytes,
  formatCountdown,
  formatCpus,
  formatDuration,
  jobLengthSeconds,
  percentOf,
  remainingSeconds
} from '../resources/format';
import { trans } from './trans';

describe('formatCountdown', () => {
  it('shows hours, minutes and seconds below a day', () => {
    expect(formatCountdown(3 * 3600 + 4 * 60 + 5, trans)).toBe('3:04:05');
    expect(formatCountdown(59, trans)).toBe('0:00:59');
    expect(formatCountdown(3599.9, trans)).toBe('0:59:59');
  });
  it('keeps the days', () => {
    expect(formatCountdown(2 * 86400 + 3 * 3600 + 4 * 60 + 5, trans)).toBe(
      '2 d 03:04:05'
    );
    expect(formatCountdown(86400, trans)).toBe('1 d 00:00:00');
  });
  it('stops at zero once the end has passed', () => {
    expect(formatCountdown(-42, trans)).toBe('0:00:00');
  });
  it('says unknown without an end', () => {
    expect(formatCountdown(null, trans)).toBe('unknown');
    expect(formatCountdown(NaN, trans)).toBe('unknown');
  });
});

describe('formatDuration', () => {
  it('uses days, hours and minutes', () => {
    expect(formatDuration(2 * 86400 + 4 * 3600 + 59, trans)).toBe('2 d 4 h');
    expect(formatDuration(3 * 86400, trans)).toBe('3 d');
    expect(formatDuration(5400, trans)).toBe('1 h 30 min');
    expect(formatDuration(7200, trans)).toBe('2 h');
    expect(formatDuration(45 * 60, trans)).toBe('45 min');
    expect(formatDuration(20, trans)).toBe('< 1 min');
    expect(formatDuration(-300, trans)).toBe('< 1 min');
    expect(formatDuration(null, trans)).toBe('unknown');
  });
});

describe('sizes and CPUs', () => {
  it('formats bytes in binary units', () => {
    expect(formatBytes(8 * 1024 ** 3, trans)).toBe('8.0 GiB');
    expect(formatBytes(1536 * 1024, trans)).toBe('1.5 MiB');
    expect(formatBytes(12, trans)).toBe('12 B');
    expect(formatBytes(null, trans)).toBe('unknown');
    expect(formatBytes(-1, trans)).toBe('unknown');
  });
  it('formats CPU counts', () => {
    expect(formatCpus(2, trans)).toBe('2');
    expect(formatCpus(0.5, trans)).toBe('0.5');
    expect(formatCpus(1.25, trans)).toBe('1.25');
    expect(formatCpus(null, trans)).toBe('unknown');
  });
  it('computes clamped percents, null when unknown', () => {
    expect(percentOf(1, 4)).toBe(25);
    expect(percentOf(5, 4)).toBe(100);
    expect(percentOf(null, 4)).toBeNull();
    expect(percentOf(1, null)).toBeNull();
    expect(percentOf(1, 0)).toBeNull();
  });
});

describe('countdown and clock skew', () => {
  const end = '2026-11-25T12:00:00Z';
  const endMs = Date.parse(end);
  it('counts down from the end with the browser clock', () => {
    expect(remainingSeconds(end, endMs - 90_000, 0)).toBe(90);
    expect(remainingSeconds(end, endMs + 5_000, 0)).toBe(-5);
    expect(remainingSeconds(null, endMs, 0)).toBeNull();
    expect(remainingSeconds('not a date', endMs, 0)).toBeNull();
  });
  it('corrects a browser clock that runs 2 minutes late', () => {
    const serverNow = endMs - 600_000; // 10 minutes left on the server
    const browserNow = serverNow - 120_000;
    const skew = clockSkew(
      new Date(serverNow).toISOString(),
      browserNow - 100,
      browserNow + 100
    );
    expect(skew).toBe(120_000);
    expect(remainingSeconds(end, browserNow, skew)).toBe(600);
  });
  it('ignores an unreadable server time', () => {
    expect(clockSkew('garbage', 0, 10)).toBe(0);
  });
});

describe('decideWarning', () => {
  const thresholds = [30, 10, 2];
  it('warns nothing far from the end or without an end', () => {
    expect(decideWarning(3600, thresholds, [])).toEqual({
      warn: null,
      warned: []
    });
    expect(decideWarning(null, thresholds, [])).toEqual({
      warn: null,
      warned: []
    });
  });
  it('warns once per threshold, in turn', () => {
    let d = decideWarning(29 * 60, thresholds, []);
    expect(d.warn).toBe(30);
    d = decideWarning(28 * 60, thresholds, d.warned);
    expect(d.warn).toBeNull();
    d = decideWarning(9 * 60, thresholds, d.warned);
    expect(d.warn).toBe(10);
    d = decideWarning(100, thresholds, d.warned);
    expect(d.warn).toBe(2);
    expect(d.warned.sort()).toEqual([10, 2, 30].sort());
  });
  it('shows only the smallest crossed threshold when opened late', () => {
    expect(decideWarning(5 * 60, thresholds, [])).toEqual({
      warn: 10,
      warned: [30, 10]
    });
  });
  it('arms the thresholds again when the job is extended', () => {
    const d = decideWarning(3 * 3600, thresholds, [30, 10]);
    expect(d).toEqual({ warn: null, warned: [] });
    expect(decideWarning(25 * 60, thresholds, d.warned).warn).toBe(30);
  });
  it('warns nothing after the end, and ignores bad thresholds', () => {
    expect(decideWarning(-1, thresholds, []).warn).toBeNull();
    expect(decideWarning(60, [0, -5, NaN], []).warn).toBeNull();
  });
});

describe('warnings and the job’s length', () => {
  const thresholds = [30, 10, 2];
  const MIN = 60;
  it('does not warn a 30-minute session as it starts (issue 15)', () => {
    // 30 min at or above the length: never; the first warning is 10 min before the end.
    expect(decideWarning(29.9 * MIN, thresholds, [], 30 * MIN).warn).toBeNull();
    expect(decideWarning(15 * MIN, thresholds, [], 30 * MIN).warn).toBeNull();
    expect(decideWarning(10 * MIN, thresholds, [], 30 * MIN).warn).toBe(10);
  });
  it('never fires a threshold at or above the job’s length', () => {
    const tenMinutes = decideWarning(9.9 * MIN, [10], [], 10 * MIN);
    expect(tenMinutes.warn).toBeNull();
    expect(decideWarning(1, [10], tenMinutes.warned, 10 * MIN).warn).toBeNull();
    expect(decideWarning(2 * MIN, thresholds, [], 10 * MIN).warn).toBe(2);
  });
  it('moves a threshold beyond half the job to its half-way point', () => {
    // 15-minute job: "10 min before the end" would come 5 min in; it comes half-way.
    expect(decideWarning(8 * MIN, thresholds, [], 15 * MIN).warn).toBeNull();
    let d = decideWarning(7.5 * MIN, thresholds, [], 15 * MIN);
    expect(d.warn).toBe(7.5);
    d = decideWarning(5 * MIN, thresholds, d.warned, 15 * MIN);
    expect(d.warn).toBeNull();
    expect(decideWarning(2 * MIN, thresholds, d.warned, 15 * MIN).warn).toBe(2);
    // Several thresholds on the same half-way point warn once.
    d = decideWarning(20 * MIN, [25, 30, 35], [], 40 * MIN);
    expect(d).toEqual({ warn: 20, warned: [20] });
  });
  it('keeps the thresholds of a long job as set', () => {
    expect(decideWarning(29 * MIN, thresholds, [], 8 * 60 * MIN).warn).toBe(30);
    expect(decideWarning(29 * MIN, thresholds, [], 60 * MIN).warn).toBe(30);
  });
  it('takes the length from the start and the end, else from the limit', () => {
    expect(
      jobLengthSeconds({
        start: '2026-11-27T10:00:00Z',
        end: '2026-11-27T10:30:00Z',
        limit_seconds: 3600
      })
    ).toBe(1800);
    expect(
      jobLengthSeconds({ start: null, end: null, limit_seconds: 3600 })
    ).toBe(3600);
    expect(
      jobLengthSeconds({ start: 'garbage', end: null, limit_seconds: null })
    ).toBeNull();
  });
});

describe('autosaveDue', () => {
  it('saves within the lead time, when enabled', () => {
    expect(autosaveDue(119, true, 2)).toBe(true);
    expect(autosaveDue(121, true, 2)).toBe(false);
    expect(autosaveDue(60, false, 2)).toBe(false);
    expect(autosaveDue(null, true, 2)).toBe(false);
    expect(autosaveDue(-120, true, 2)).toBe(false);
  });
});
