/**
 * Sizes and file rows of a folder share, as the dialog and the server say them
 * (no JupyterLab imports: jest tests them as they are).
 */
import { IFolderFile } from './types';

/** `104857600` → `100 MB`, as the server's messages name sizes. */
export function humanSize(bytes: number): string {
  const units: [string, number][] = [
    ['GB', 1 << 30],
    ['MB', 1 << 20],
    ['KB', 1 << 10]
  ];
  for (const [unit, size] of units) {
    if (bytes >= size) {
      const value = bytes / size;
      return Number.isInteger(value)
        ? `${value} ${unit}`
        : `${value.toFixed(1)} ${unit}`;
    }
  }
  return `${bytes} bytes`;
}

/** The rows of a folder's file table: path and size. */
export function fileRows(files: readonly IFolderFile[]): string[][] {
  return files.map(f => [f.path, humanSize(f.size)]);
}
