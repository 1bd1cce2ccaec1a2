import { describeSession } from '../session/format';
import { marking, trans } from './trans';

describe('describeSession', () => {
  it('names a local session and lists no options', () => {
    expect(describeSession({ scheduler: 'local', options: {} }, trans)).toEqual(
      [['Where', 'Local session on the hub node']]
    );
  });

  it('lists batch options in the order a user reads them', () => {
    const rows = describeSession(
      {
        scheduler: 'slurm',
        options: {
          runtime: 30,
          qos: 'gpu-qos',
          partition: 'gpu',
          account: 'tier3',
          gpu: 'none',
          local: false
        }
      },
      trans
    );
    expect(rows).toEqual([
      ['Where', 'Slurm batch job'],
      ['Partition', 'gpu'],
      ['Account', 'tier3'],
      ['QOS', 'gpu-qos'],
      ['Runtime', '30 min']
    ]);
  });

  it('says a session the way the link page does: labelled, with units, nothing internal', () => {
    // What a Slurm session's identity holds (issue 15 showed these raw).
    const rows = describeSession(
      {
        scheduler: 'slurm',
        options: {
          account: '',
          environment: '',
          gpu: 'none',
          gpus: 0,
          local: false,
          partition: 'cpu',
          runtime: 60
        }
      },
      trans
    );
    expect(rows).toEqual([
      ['Where', 'Slurm batch job'],
      ['Partition', 'cpu'],
      ['Runtime', '60 min']
    ]);
    const gpu = describeSession(
      { scheduler: 'slurm', options: { gpu: 'a100', gpus: 1 } },
      trans
    );
    expect(gpu).toEqual([
      ['Where', 'Slurm batch job'],
      ['GPU', 'a100'],
      ['GPUs', '1']
    ]);
  });

  it('keeps options it has no label for, sorted, and drops empty ones and switches', () => {
    const rows = describeSession(
      {
        scheduler: 'htcondor',
        options: { zeta: 'z', alpha: true, environment: '', beta: null }
      },
      trans
    );
    expect(rows).toEqual([
      ['Where', 'HTCondor batch job'],
      ['zeta', 'z']
    ]);
  });

  it('says the identity is unknown and why', () => {
    const rows = describeSession(
      {
        scheduler: null,
        options: {},
        problem: 'SDCC_LAB_SESSION is malformed'
      },
      trans
    );
    expect(rows).toEqual([
      ['Where', 'Unknown'],
      ['Problem', 'SDCC_LAB_SESSION is malformed']
    ]);
  });

  it('translates the labels and the scheduler name, never the values', () => {
    const rows = describeSession(
      {
        scheduler: 'slurm',
        options: { partition: 'gpu', runtime: 45, zeta: 'z' },
        problem: 'p'
      },
      marking
    );
    expect(rows).toEqual([
      ['«Where»', '«Slurm batch job»'],
      ['«Partition»', 'gpu'],
      ['«Runtime»', '«45 min»'],
      ['zeta', 'z'],
      ['«Problem»', 'p']
    ]);
  });
});
