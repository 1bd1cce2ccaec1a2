import { APIError } from '../api';
import {
  absoluteLink,
  environmentRows,
  errorMessage,
  expiryChoices,
  isNotebookPath,
  mismatchLines,
  PENDING_KEY,
  takePendingToken,
  takeShareToken
} from '../share/format';
import { marking, trans } from './trans';

const TOKEN = '.eJwtjUEKwjAQRe8y6yxsVx.aBcD-9_x';

/** A sessionStorage stand-in (jest's jsdom is not used here). */
function storage(
  entries: Record<string, string>
): Pick<Storage, 'getItem' | 'removeItem'> {
  return {
    getItem: (key: string) => (key in entries ? entries[key] : null),
    removeItem: (key: string) => {
      delete entries[key];
    }
  };
}

describe('share helpers', () => {
  it('offers only expiries within the site maximum', () => {
    expect(expiryChoices(86400).map(([s]) => s)).toEqual([3600, 86400]);
    expect(expiryChoices(undefined).length).toBe(3);
    expect(expiryChoices(60).map(([s]) => s)).toEqual([3600]);
  });

  it('makes a path link absolute against the page', () => {
    expect(
      absoluteLink('/services/share/open#abc', 'http://hub.example/user/a/lab')
    ).toBe('http://hub.example/services/share/open#abc');
    expect(absoluteLink('https://x.example/s/open/t', 'http://hub/')).toBe(
      'https://x.example/s/open/t'
    );
  });

  it('takes the token out of the fragment', () => {
    const { token, cleaned } = takeShareToken(
      `http://hub/user/bob/lab#sdcc-share=${TOKEN}`
    );
    expect(token).toBe(TOKEN);
    expect(cleaned).toBe('http://hub/user/bob/lab');
    expect(cleaned).not.toContain('#');
  });

  it('keeps the rest of the address and of the fragment', () => {
    const { token, cleaned } = takeShareToken(
      `http://hub/user/bob/lab/tree/x?reset#a=1&sdcc-share=${TOKEN}`
    );
    expect(token).toBe(TOKEN);
    expect(cleaned).toBe('http://hub/user/bob/lab/tree/x?reset#a=1');
  });

  it('still reads (and removes) the query of older links', () => {
    const { token, cleaned } = takeShareToken(
      `http://hub/user/bob/lab?sdcc-share=${TOKEN}&reset`
    );
    expect(token).toBe(TOKEN);
    expect(cleaned).not.toContain('sdcc-share');
    expect(new URL(cleaned).searchParams.has('reset')).toBe(true);
    // both: the fragment wins, both go
    const both = takeShareToken(
      `http://hub/user/bob/lab?sdcc-share=${TOKEN}x#sdcc-share=${TOKEN}`
    );
    expect(both.token).toBe(TOKEN);
    expect(both.cleaned).toBe('http://hub/user/bob/lab');
  });

  it('finds no token where there is none, and refuses junk', () => {
    expect(takeShareToken('http://hub/user/bob/lab').token).toBeNull();
    expect(takeShareToken('http://hub/user/bob/lab#other').token).toBeNull();
    expect(
      takeShareToken('http://hub/user/bob/lab#sdcc-share=').token
    ).toBeNull();
    const junk = takeShareToken(
      'http://hub/user/bob/lab#sdcc-share=%3Cscript%3E'
    );
    expect(junk.token).toBeNull();
    expect(junk.cleaned).toBe('http://hub/user/bob/lab');
  });

  it('takes a token left by the link page once, for its user, while fresh', () => {
    const entry = (at: number, user = 'bob') =>
      JSON.stringify({ token: TOKEN, user, at });
    const s = storage({ [PENDING_KEY]: entry(1000) });
    expect(takePendingToken(s, 'bob', 2000)).toBe(TOKEN);
    expect(takePendingToken(s, 'bob', 2000)).toBeNull(); // read once
    expect(
      takePendingToken(
        storage({ [PENDING_KEY]: entry(1000, 'alice') }),
        'bob',
        2000
      )
    ).toBeNull();
    expect(
      takePendingToken(
        storage({ [PENDING_KEY]: entry(0) }),
        'bob',
        3600 * 1000 + 1
      )
    ).toBeNull();
    expect(
      takePendingToken(storage({ [PENDING_KEY]: entry(1000) }), '', 2000)
    ).toBeNull();
    expect(
      takePendingToken(storage({ [PENDING_KEY]: 'not json' }), 'bob', 2000)
    ).toBeNull();
    expect(takePendingToken(storage({}), 'bob', 2000)).toBeNull();
    expect(takePendingToken(null, 'bob', 2000)).toBeNull();
    const refusing = {
      getItem: () => {
        throw new Error('SecurityError');
      },
      removeItem: () => undefined
    };
    expect(takePendingToken(refusing, 'bob', 2000)).toBeNull();
  });

  it('recognises notebooks', () => {
    expect(isNotebookPath('a/b.ipynb')).toBe(true);
    expect(isNotebookPath('a/b.py')).toBe(false);
    expect(isNotebookPath(undefined)).toBe(false);
  });

  it('describes an environment without losing values', () => {
    const rows = environmentRows(
      {
        scheduler: 'slurm',
        options: { partition: 'gpu', gpus: 1, account: '' },
        kernelspec: { name: 'python3', display_name: '<b>Py</b>' }
      },
      trans
    );
    expect(rows).toEqual([
      ['Kernel', '<b>Py</b>'],
      ['Where', 'Slurm batch job'],
      ['Partition', 'gpu'],
      ['GPUs', '1']
    ]);
    expect(
      environmentRows(
        {
          scheduler: 'local',
          options: { local: true, environment: 'default' }
        },
        trans
      )
    ).toEqual([
      ['Where', 'Local session on the hub node'],
      ['Environment', 'default']
    ]);
  });

  it('says a link’s environment labelled, with units, nothing internal', () => {
    // What a Slurm session's server puts into a link (issue 15 showed these raw).
    const rows = environmentRows(
      {
        scheduler: 'slurm',
        options: {
          account: '',
          environment: '',
          gpu: 'none',
          gpus: 0,
          local: false,
          partition: 'cpu',
          qos: 'normal',
          runtime: 60
        },
        kernelspec: { name: 'python3', display_name: 'Python 3 (ipykernel)' }
      },
      trans
    );
    expect(rows).toEqual([
      ['Kernel', 'Python 3 (ipykernel)'],
      ['Where', 'Slurm batch job'],
      ['Partition', 'cpu'],
      ['QOS', 'normal'],
      ['Runtime', '60 min']
    ]);
  });

  it('names every option that differs, in the session’s words, translated', () => {
    const preview = {
      mismatches: ['partition: gpu in the link, cpu in your session'],
      differences: [
        { key: 'partition', link: 'gpu', session: 'cpu' },
        { key: 'qos', link: 'gpu-qos', session: 'normal' },
        { key: 'gpus', link: 1, session: 0 }
      ]
    };
    expect(mismatchLines(preview, trans)).toEqual([
      'Partition: gpu in the link, cpu in your session',
      'QOS: gpu-qos in the link, normal in your session',
      'GPUs: 1 in the link, none in your session'
    ]);
    expect(mismatchLines(preview, marking)[1]).toBe(
      '««QOS»: gpu-qos in the link, normal in your session»'
    );
    // A server of old sends only the English lines.
    expect(mismatchLines({ mismatches: ['x differs'] }, trans)).toEqual([
      'x differs'
    ]);
  });

  it('translates the kernel label and the session words, not the kernel', () => {
    expect(
      environmentRows(
        { scheduler: 'htcondor', kernelspec: { name: 'python3' } },
        marking
      )
    ).toEqual([
      ['«Kernel»', 'python3'],
      ['«Where»', '«HTCondor batch job»']
    ]);
  });

  it('says what a refused link means', () => {
    expect(errorMessage(new APIError(410, 'expired'), trans)).toBe(
      'This link no longer works: expired'
    );
    expect(errorMessage(new APIError(403, 'not for you'), trans)).toBe(
      'This link cannot be used: not for you'
    );
    expect(errorMessage(new APIError(503, 'service down'), trans)).toBe(
      'Sharing is unavailable right now: service down'
    );
    expect(errorMessage(new APIError(400, 'bad link'), trans)).toBe('bad link');
    expect(errorMessage(new Error('network'), trans)).toBe('network');
    expect(errorMessage('odd', trans)).toBe('odd');
  });
});
