import { APIError } from '../api';
import { DAY } from '../share/format';
import { ShareAPI, ShareModel } from '../share/model';
import { IShareSummary } from '../share/types';

const share = (id: string, path: string): IShareSummary => ({
  id,
  path,
  url: `/services/share/open#${id}`,
  created_at: '2026-11-27T10:00:00Z',
  expires_at: '2026-11-28T10:00:00Z',
  opens: 0
});

/** The share endpoints over an in-memory list of links. */
function fakeAPI(links: IShareSummary[], calls: string[]): ShareAPI {
  return {
    listShares: async () => {
      calls.push('list');
      return { shares: [...links], max_expires_in: DAY };
    },
    revokeShare: async (id: string) => {
      calls.push(`revoke ${id}`);
      if (!links.some(l => l.id === id)) {
        throw new APIError(404, 'No such share link');
      }
      links.splice(
        links.findIndex(l => l.id === id),
        1
      );
    },
    createShare: async (path: string, expiresIn?: number) => {
      calls.push(`create ${path} ${expiresIn}`);
      return {
        id: 'n',
        url: '/s',
        token: 't',
        path,
        expires_at: '2026-11-28T10:00:00Z',
        environment: {}
      };
    },
    previewImport: async () => {
      throw new APIError(410, 'This link has expired');
    },
    importLink: async () => {
      throw new APIError(410, 'This link has expired');
    }
  };
}

describe('ShareModel', () => {
  it('lists my links and the site maximum', async () => {
    const calls: string[] = [];
    const model = new ShareModel({
      api: fakeAPI([share('a', 'one.ipynb'), share('b', 'two.ipynb')], calls)
    });
    expect(model.shares).toEqual([]);
    expect(model.maxExpiresIn).toBeUndefined();
    let changes = 0;
    model.changed.connect(() => changes++);
    await model.refresh();
    expect(model.shares.map(s => s.path)).toEqual(['one.ipynb', 'two.ipynb']);
    expect(model.maxExpiresIn).toBe(DAY);
    expect(changes).toBe(1);
    model.dispose();
  });

  it('drops a revoked link from the list once the server confirmed', async () => {
    const calls: string[] = [];
    const model = new ShareModel({
      api: fakeAPI([share('a', 'one.ipynb'), share('b', 'two.ipynb')], calls)
    });
    await model.refresh();
    await model.revoke('a');
    expect(model.shares.map(s => s.id)).toEqual(['b']);
    expect(calls).toEqual(['list', 'revoke a']);
    model.dispose();
  });

  it('keeps the list when the server refuses a revoke', async () => {
    const model = new ShareModel({
      api: fakeAPI([share('a', 'one.ipynb')], [])
    });
    await model.refresh();
    await expect(model.revoke('gone')).rejects.toThrow('No such share link');
    expect(model.shares.map(s => s.id)).toEqual(['a']);
    model.dispose();
  });

  it('creates with the chosen expiry and passes refusals on', async () => {
    const calls: string[] = [];
    const model = new ShareModel({ api: fakeAPI([], calls) });
    expect(model.defaultExpiry).toBe(DAY);
    model.defaultExpiry = 3600;
    const created = await model.create('x.ipynb', model.defaultExpiry);
    expect(created.path).toBe('x.ipynb');
    expect(calls).toEqual(['create x.ipynb 3600']);
    await expect(model.preview('link')).rejects.toMatchObject({ status: 410 });
    await expect(model.importLink('link')).rejects.toMatchObject({
      status: 410
    });
    model.dispose();
  });
});
