import {
  absoluteLink,
  environmentRows,
  expiryChoices,
  isNotebookPath,
  takeShareToken
} from '../share/format';

describe('share helpers', () => {
  it('offers only expiries within the site maximum', () => {
    expect(expiryChoices(86400).map(([s]) => s)).toEqual([3600, 86400]);
    expect(expiryChoices(undefined).length).toBe(3);
    expect(expiryChoices(60).map(([s]) => s)).toEqual([3600]);
  });

  it('makes a path link absolute against the page', () => {
    expect(
      absoluteLink('/services/share/open/abc', 'http://hub.example/user/a/lab')
    ).toBe('http://hub.example/services/share/open/abc');
    expect(absoluteLink('https://x.example/s/open/t', 'http://hub/')).toBe(
      'https://x.example/s/open/t'
    );
  });

  it('takes the token out of the address', () => {
    const { token, cleaned } = takeShareToken(
      'http://hub/user/bob/lab?sdcc-share=.eJw.abc&reset'
    );
    expect(token).toBe('.eJw.abc');
    expect(cleaned).not.toContain('sdcc-share');
    expect(takeShareToken('http://hub/user/bob/lab').token).toBeNull();
  });

  it('recognises notebooks', () => {
    expect(isNotebookPath('a/b.ipynb')).toBe(true);
    expect(isNotebookPath('a/b.py')).toBe(false);
    expect(isNotebookPath(undefined)).toBe(false);
  });

  it('describes an environment without losing values', () => {
    const rows = environmentRows({
      scheduler: 'slurm',
      options: { partition: 'gpu', gpus: 1, account: '' },
      kernelspec: { name: 'python3', display_name: '<b>Py</b>' }
    });
    expect(rows).toEqual([
      ['Kernel', '<b>Py</b>'],
      ['Where', 'Slurm batch job'],
      ['Partition', 'gpu'],
      ['GPUs', '1']
    ]);
    expect(
      environmentRows({ scheduler: 'local', options: { local: true, environment: 'default' } })
    ).toEqual([
      ['Where', 'Local session on the hub node'],
      ['Environment', 'default']
    ]);
  });
});
