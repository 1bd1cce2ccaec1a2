import { APIError } from '../api';
import { audienceOf, parseNames } from '../share/audience';
import { actionFor, InboxAPI, InboxModel, toAnnounce } from '../inbox/model';
import { IInboxItem, InboxState } from '../inbox/types';

const item = (id: string, state: InboxState): IInboxItem => ({
  id,
  owner: 'alice',
  path: `${id}.ipynb`,
  name: `${id}.ipynb`,
  kind: 'notebook',
  updated_at: '2026-11-27T10:00:00Z',
  expires_at: '2026-11-28T10:00:00Z',
  state,
  version: 1,
  imported_version: state === 'new' ? null : 1,
  environment: {},
  addressed: true,
  ...(state === 'revoked' || state === 'expired'
    ? {}
    : { url: `/services/share/open#${id}` })
});

function memoryStore(): Map<string, string> & {
  getItem(k: string): string | null;
  setItem(k: string, v: string): void;
} {
  const map = new Map<string, string>() as any;
  map.getItem = (k: string) => map.get(k) ?? null;
  map.setItem = (k: string, v: string) => map.set(k, v);
  return map;
}

function fakeAPI(answers: IInboxItem[][]): InboxAPI {
  return {
    fetchInbox: async () => {
      const next = answers.shift();
      if (!next) {
        throw new APIError(503, 'the share service is unreachable');
      }
      return { shares: next };
    },
    importShare: async () => {
      throw new Error('not in these tests');
    }
  };
}

describe('the inbox', () => {
  it('offers import for new, refresh for updated, nothing for revoked or expired', () => {
    expect(actionFor('new')).toBe('import');
    expect(actionFor('updated')).toBe('refresh');
    expect(actionFor('imported')).toBe('again');
    expect(actionFor('revoked')).toBeNull();
    expect(actionFor('expired')).toBeNull();
  });

  it('announces only new items not announced before', () => {
    const items = [item('a', 'new'), item('b', 'new'), item('c', 'updated')];
    expect(toAnnounce(items, new Set(['a'])).map(i => i.id)).toEqual(['b']);
  });

  it('announces each new item once, across models of the same user', async () => {
    const store = memoryStore();
    const first = new InboxModel({
      user: 'bob',
      store,
      api: fakeAPI([[item('a', 'new')], [item('a', 'new'), item('b', 'new')]])
    });
    const heard: string[][] = [];
    first.arrived.connect((_, items) => heard.push(items.map(i => i.id)));
    await first.refresh();
    await first.refresh();
    expect(heard).toEqual([['a'], ['b']]);
    // A reload (a new model, the same browser storage) announces nothing again.
    const again = new InboxModel({
      user: 'bob',
      store,
      api: fakeAPI([[item('a', 'new'), item('b', 'new')]])
    });
    const later: string[][] = [];
    again.arrived.connect((_, items) => later.push(items.map(i => i.id)));
    await again.refresh();
    expect(later).toEqual([]);
    // Another user of the same browser has their own.
    const carol = new InboxModel({
      user: 'carol',
      store,
      api: fakeAPI([[item('a', 'new')]])
    });
    const hers: string[][] = [];
    carol.arrived.connect((_, items) => hers.push(items.map(i => i.id)));
    await carol.refresh();
    expect(hers).toEqual([['a']]);
  });

  it('keeps the last list and says the problem when the server fails', async () => {
    const model = new InboxModel({
      user: 'bob',
      store: memoryStore(),
      api: fakeAPI([[item('a', 'imported')]])
    });
    await model.refresh();
    await model.refresh();
    expect(model.items.map(i => i.id)).toEqual(['a']);
    expect(model.problem).toBe('the share service is unreachable');
  });

  it('refuses to import a revoked share', () => {
    const model = new InboxModel({
      user: 'bob',
      store: memoryStore(),
      api: fakeAPI([])
    });
    expect(() => model.importItem(item('r', 'revoked'))).toThrow(
      'this share can no longer be imported'
    );
  });
});

describe('the share dialog’s audience', () => {
  it('is null for anyone, else the names once each', () => {
    expect(audienceOf(false, 'bob', 'physics')).toBeNull();
    expect(audienceOf(true, ' bob, carol bob ', 'physics,')).toEqual({
      users: ['bob', 'carol'],
      groups: ['physics']
    });
    expect(parseNames(' ,  ')).toEqual([]);
  });
});
