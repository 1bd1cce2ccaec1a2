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
      ['GPU', 'none'],
      ['Runtime (min)', '30']
    ]);
  });

  it('keeps options it has no label for, sorted, and drops empty ones', () => {
    const rows = describeSession(
      {
        scheduler: 'htcondor',
        options: { zeta: 'z', alpha: true, environment: '', beta: null }
      },
      trans
    );
    expect(rows).toEqual([
      ['Where', 'HTCondor batch job'],
      ['alpha', 'true'],
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
        options: { partition: 'gpu', zeta: 'z' },
        problem: 'p'
      },
      marking
    );
    expect(rows).toEqual([
      ['«Where»', '«Slurm batch job»'],
      ['«Partition»', 'gpu'],
      ['zeta', 'z'],
      ['«Problem»', 'p']
    ]);
  });
});
