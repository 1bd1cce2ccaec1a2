import { ITrans } from '../tokens';

/** Like nullTranslator: %1, %2… replaced by the arguments. */
export const trans: ITrans = {
  __: (msg: string, ...args: any[]) =>
    msg.replace(/%(\d+)/g, (_, n: string) => String(args[Number(n) - 1]))
};

/** A translator that marks what it translated, to see which words go through it. */
export const marking: ITrans = {
  __: (msg: string, ...args: any[]) => `«${trans.__(msg, ...args)}»`
};
