/**
 * The folder share dialog's helpers: sizes in the server's words, file rows.
 */
import { fileRows, humanSize } from '../share/sizes';

describe('humanSize', () => {
  it('names sizes as the server does', () => {
    expect(humanSize(8)).toBe('8 bytes');
    expect(humanSize(1024)).toBe('1 KB');
    expect(humanSize(1536)).toBe('1.5 KB');
    expect(humanSize(500 * 1024 * 1024)).toBe('500 MB');
    expect(humanSize(2 * 1024 ** 3)).toBe('2 GB');
  });
});

describe('fileRows', () => {
  it('gives one row per file: path, size', () => {
    expect(
      fileRows([
        { path: 'a.ipynb', size: 2048 },
        { path: 'data/x.csv', size: 8 }
      ])
    ).toEqual([
      ['a.ipynb', '2 KB'],
      ['data/x.csv', '8 bytes']
    ]);
  });
});
