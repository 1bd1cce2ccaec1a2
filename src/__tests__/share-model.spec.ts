import { APIError } from '../api';
import { DAY } from '../share/format';
import { ShareAPI, ShareModel } from '../share/model';
import { acceptKernelMetadata, withoutKernelMetadata } from '../share/open';
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

describe('an imported notebook opens unmodified', () => {
  /**
   * An opened notebook whose kernel connects when `connect()` is called: as
   * JupyterLab's NotebookPanel does, a handler attached when the kernel
   * started writes the kernel's metadata (marking the model modified) once
   * the kernel's info arrives.
   */
  function openedNotebook(metadata: { [key: string]: unknown }) {
    const notebook = {
      cells: [{ cell_type: 'code', source: 'print(1)', metadata: {} }],
      metadata: { ...metadata },
      nbformat: 4,
      nbformat_minor: 5
    };
    const model = {
      dirty: false,
      toJSON: () => JSON.parse(JSON.stringify(notebook))
    };
    let connect: () => void = () => undefined;
    const info = new Promise<unknown>(resolve => {
      connect = () => resolve({});
    });
    const kernel = { info, spec: info.then(() => ({ name: 'python3' })) };
    void info.then(() => {
      notebook.metadata.language_info = { name: 'python', version: '3.11.2' };
      notebook.metadata.kernelspec = {
        name: 'python3',
        display_name: 'Python 3 (ipykernel)',
        language: 'python'
      };
      model.dirty = true;
    });
    const doc = {
      ready: Promise.resolve(),
      model,
      sessionContext: { ready: Promise.resolve(), session: { kernel } }
    };
    return { doc, notebook, connect };
  }

  it('takes the kernel’s metadata as it was opened (issue 15)', async () => {
    const { doc, connect } = openedNotebook({
      kernelspec: { name: 'python3', display_name: 'Python 3' }
    });
    const settling = acceptKernelMetadata(doc, 5000);
    connect();
    expect(await settling).toBe(true);
    expect(doc.model.dirty).toBe(false);
  });

  it('keeps the mark when a cell changed too', async () => {
    const { doc, notebook, connect } = openedNotebook({});
    const settling = acceptKernelMetadata(doc, 5000);
    await doc.ready;
    await new Promise(resolve => setTimeout(resolve, 0));
    notebook.cells[0].source = 'print(2)';
    connect();
    expect(await settling).toBe(false);
    expect(doc.model.dirty).toBe(true);
  });

  it('keeps the mark when other metadata changed', async () => {
    const { doc, notebook, connect } = openedNotebook({});
    const settling = acceptKernelMetadata(doc, 5000);
    await new Promise(resolve => setTimeout(resolve, 0));
    (notebook.metadata as { [key: string]: unknown }).tags = ['mine'];
    connect();
    expect(await settling).toBe(false);
    expect(doc.model.dirty).toBe(true);
  });

  it('also when JupyterLab marked it on loading (a copy never run)', async () => {
    // No language_info in the file: JupyterLab adds an empty one as it loads.
    const { doc, notebook, connect } = openedNotebook({});
    notebook.metadata.language_info = { name: '' };
    doc.model.dirty = true;
    const settling = acceptKernelMetadata(doc, 5000);
    connect();
    expect(await settling).toBe(true);
    expect(doc.model.dirty).toBe(false);
  });

  it('leaves the document as it is when no kernel comes', async () => {
    const { doc } = openedNotebook({});
    doc.model.dirty = true;
    expect(await acceptKernelMetadata(doc, 20)).toBe(false);
    expect(doc.model.dirty).toBe(true);
  });

  it('compares notebooks without the kernel’s metadata', () => {
    const a = { cells: [], metadata: { kernelspec: { name: 'a' }, x: 1 } };
    const b = { cells: [], metadata: { language_info: { name: 'b' }, x: 1 } };
    expect(withoutKernelMetadata(a)).toBe(withoutKernelMetadata(b));
    expect(withoutKernelMetadata({ ...a, metadata: { x: 2 } })).not.toBe(
      withoutKernelMetadata(a)
    );
  });
});
