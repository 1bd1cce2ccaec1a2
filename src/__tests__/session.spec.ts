import { describeSession } from '../session';

describe('describeSession', () => {
  it('names a local session and lists no options', () => {
    expect(describeSession({ scheduler: 'local', options: {} })).toEqual([
      ['Where', 'Local session on the hub node']
    ]);
  });

  it('lists batch options in the order a user reads them', () => {
    const rows = describeSession({
      scheduler: 'slurm',
      options: { runtime: 30, qos: 'gpu-qos', partition: 'gpu', account: 'tier3', gpu: 'none', local: false }
    });
    expect(rows).toEqual([
      ['Where', 'Slurm batch job'],
      ['Partition', 'gpu'],
      ['Account', 'tier3'],
      ['QOS', 'gpu-qos'],
      ['GPU', 'none'],
      ['Runtime (min)', '30']
    ]);
  });

  it('keeps options it has no label for, sorted, and drops empty ones', () => {
    const rows = describeSession({
      scheduler: 'htcondor',
      options: { zeta: 'z', alpha: true, environment: '', beta: null }
    });
    expect(rows).toEqual([
      ['Where', 'HTCondor batch job'],
      ['alpha', 'true'],
      ['zeta', 'z']
    ]);
  });

  it('says the identity is unknown and why', () => {
    const rows = describeSession({
      scheduler: null,
      options: {},
      problem: 'SDCC_LAB_SESSION is malformed'
    });
    expect(rows).toEqual([
      ['Where', 'Unknown'],
      ['Problem', 'SDCC_LAB_SESSION is malformed']
    ]);
  });
});
