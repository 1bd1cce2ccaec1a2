import { jobName, LABELS, optionLabel, schedulerName } from '../labels';
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
    expect(optionLabel('runtime', trans)).toBe('Runtime (min)');
    expect(optionLabel('reservation', trans)).toBe('reservation');
  });

  it('passes every name through the translator, not the values', () => {
    expect(schedulerName('htcondor', marking)).toBe('«HTCondor batch job»');
    expect(jobName('slurm', '7', marking)).toBe('«Slurm job 7»');
    expect(optionLabel('partition', marking)).toBe('«Partition»');
    expect(schedulerName('pbs', marking)).toBe('pbs');
  });
});
