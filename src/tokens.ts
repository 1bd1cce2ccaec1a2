/**
 * Shared identifiers and the types of the server extension's responses.
 */

/** The part of a TranslationBundle the pure helpers use (jest passes a stand-in). */
export interface ITrans {
  __(msg: string, ...args: any[]): string;
}

/** Command ids of this extension. */
export namespace CommandIDs {
  export const sessionInfo = 'sdcc-lab:session-info';
}

/** Where a session runs, as the hub started it (`SDCC_LAB_SESSION`). */
export interface ISessionIdentity {
  /** `null` when the hub passed a malformed identity. */
  scheduler: 'local' | 'slurm' | 'htcondor' | null;
  options: { [key: string]: string | number | boolean | null };
  /** Set when the identity could not be read; says why. */
  problem?: string;
}

/** `GET sdcc-lab/api/info` */
export interface IInfo {
  version: string;
  user: string;
  session: ISessionIdentity;
}
