import {
  differenceText,
  jobName,
  LABELS,
  optionLabel,
  optionRows,
  optionValue,
  schedulerName
} from '../labels';
import { marking, trans } from './trans';

describe('the display-name table (sdcc_lab/labels.json)', () => {
  it('names every scheduler a session can have', () => {
    expect(Object.keys(LABELS.schedulers).sort()).toEqual([
      'htcondor',
      'local',
      'slurm'
    ]);
    expect(schedulerName('slurm', trans)).toBe('Slurm batch job');
    expect(schedulerName('local', trans)).toBe('Local session on the hub node');
  });

  it('says Unknown without a scheduler and keeps a value it has no name for', () => {
    expect(schedulerName(null, trans)).toBe('Unknown');
    expect(schedulerName('', trans)).toBe('Unknown');
    expect(schedulerName('pbs', trans)).toBe('pbs');
  });

  it('names a batch job by its id, and a session without one by its scheduler', () => {
    expect(jobName('slurm', '4242', trans)).toBe('Slurm job 4242');
    expect(jobName('htcondor', '17.0', trans)).toBe('HTCondor job 17.0');
    expect(jobName('slurm', null, trans)).toBe('Slurm batch job');
    expect(jobName('local', null, trans)).toBe('Local session on the hub node');
    expect(jobName(null, null, trans)).toBe('Unknown');
  });

  it('labels the options, and keeps a key it has no label for', () => {
    expect(optionLabel('qos', trans)).toBe('QOS');
    expect(optionLabel('runtime', trans)).toBe('Runtime');
    expect(optionLabel('reservation', trans)).toBe('reservation');
  });

  it('passes every name through the translator, not the values', () => {
    expect(schedulerName('htcondor', marking)).toBe('«HTCondor batch job»');
    expect(jobName('slurm', '7', marking)).toBe('«Slurm job 7»');
    expect(optionLabel('partition', marking)).toBe('«Partition»');
    expect(schedulerName('pbs', marking)).toBe('pbs');
  });

  it('gives values their units and leaves out what says nothing', () => {
    expect(optionValue('runtime', 60, trans)).toBe('60 min');
    expect(optionValue('gpus', 1, trans)).toBe('1');
    expect(optionValue('gpus', 0, trans)).toBeNull();
    expect(optionValue('gpu', 'none', trans)).toBeNull();
    expect(optionValue('local', false, trans)).toBeNull();
    expect(optionValue('local', true, trans)).toBeNull();
    expect(optionValue('account', '', trans)).toBeNull();
    expect(optionValue('qos', null, trans)).toBeNull();
    expect(optionValue('reservation', 'maint', trans)).toBe('maint');
    expect(optionValue('exclusive', true, trans)).toBeNull();
    expect(optionValue('runtime', 60, marking)).toBe('«60 min»');
  });

  it('lists the options in the table’s order, then the rest by key', () => {
    expect(
      optionRows(
        { zeta: 'z', runtime: 30, partition: 'cpu', local: false, gpus: 0 },
        trans
      )
    ).toEqual([
      ['Partition', 'cpu'],
      ['Runtime', '30 min'],
      ['zeta', 'z']
    ]);
  });

  it('says a mismatch in the same words as the session', () => {
    expect(
      differenceText({ key: 'qos', link: 'gpu-qos', session: 'normal' }, trans)
    ).toBe('QOS: gpu-qos in the link, normal in your session');
    expect(differenceText({ key: 'gpus', link: 1, session: 0 }, trans)).toBe(
      'GPUs: 1 in the link, none in your session'
    );
    expect(
      differenceText({ key: 'runtime', link: 60, session: 30 }, trans)
    ).toBe('Runtime: 60 min in the link, 30 min in your session');
    expect(
      differenceText(
        { key: 'scheduler', link: 'slurm', session: 'local' },
        trans
      )
    ).toBe(
      'Where: Slurm batch job in the link, Local session on the hub node in your session'
    );
    expect(
      differenceText(
        { key: 'kernel', link: 'Julia 1.9', session: null },
        marking
      )
    ).toBe('««Kernel»: Julia 1.9 is not available on your server»');
  });
});
