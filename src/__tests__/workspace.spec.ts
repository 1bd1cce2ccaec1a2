import {
  IKernelRecord,
  IWorkspaceState,
  restorePlan,
  restoredKey,
  runPlan,
  shouldRestore
} from '../workspace/restore';

const two: IKernelRecord[] = [
  { path: 'one.ipynb', kernel: 'python3' },
  { path: 'sub/two.ipynb', kernel: 'ir' }
];

function state(over: Partial<IWorkspaceState> = {}): IWorkspaceState {
  return {
    available: true,
    reason: null,
    workspace: 'sdcc-lab',
    restore: true,
    started: '2026-11-27T15:00:00+00:00',
    saved: '2026-11-27T14:59:00+00:00',
    kernels: two,
    ...over
  };
}

describe('shouldRestore', () => {
  it('restores the portal workspace once per server start', () => {
    expect(shouldRestore(state(), 'sdcc-lab', true, null)).toBe(true);
    expect(
      shouldRestore(state(), 'sdcc-lab', true, '2026-11-27T14:00:00+00:00')
    ).toBe(true);
    // A reload in the same server start: the user's own changes stand.
    expect(
      shouldRestore(state(), 'sdcc-lab', true, '2026-11-27T15:00:00+00:00')
    ).toBe(false);
  });

  it('leaves other workspaces, a switched-off user and an empty record alone', () => {
    expect(shouldRestore(state(), 'default', true, null)).toBe(false);
    expect(shouldRestore(state(), 'auto-x', true, null)).toBe(false);
    expect(shouldRestore(state(), 'sdcc-lab', false, null)).toBe(false);
    expect(shouldRestore(state({ kernels: [] }), 'sdcc-lab', true, null)).toBe(
      false
    );
    expect(
      shouldRestore(
        state({ available: false, workspace: null }),
        'sdcc-lab',
        true,
        null
      )
    ).toBe(false);
  });
});

describe('restorePlan', () => {
  const specs = new Set(['python3', 'ir']);

  it('keeps a kernel JupyterLab already started from the file', () => {
    const running = new Map([
      ['one.ipynb', 'python3'],
      ['sub/two.ipynb', 'ir']
    ]);
    expect(restorePlan(two, running, specs).map(s => s.action)).toEqual([
      'keep',
      'keep'
    ]);
  });

  it('starts the recorded kernel where none or another runs', () => {
    const running = new Map<string, string | null>([
      ['one.ipynb', null],
      ['sub/two.ipynb', 'python3']
    ]);
    expect(restorePlan(two, running, specs)).toEqual([
      { action: 'start', path: 'one.ipynb', kernel: 'python3' },
      { action: 'start', path: 'sub/two.ipynb', kernel: 'ir' }
    ]);
  });

  it('opens a notebook the layout lost, with its kernel', () => {
    const running = new Map([['one.ipynb', 'python3']]);
    expect(restorePlan(two, running, specs)[1]).toEqual({
      action: 'open',
      path: 'sub/two.ipynb',
      kernel: 'ir'
    });
  });

  it("leaves a kernel this server cannot start to JupyterLab's choice", () => {
    const only = new Set(['python3']);
    const running = new Map<string, string | null>([['one.ipynb', null]]);
    expect(restorePlan(two, running, only)).toEqual([
      { action: 'start', path: 'one.ipynb', kernel: 'python3' },
      { action: 'open', path: 'sub/two.ipynb', kernel: null }
    ]);
    const open = new Map<string, string | null>([['sub/two.ipynb', null]]);
    expect(restorePlan([two[1]], open, only)).toEqual([
      { action: 'skip', path: 'sub/two.ipynb', kernel: 'ir', why: 'no-spec' }
    ]);
  });
});

describe('runPlan', () => {
  it('runs every step and reports the ones that failed', async () => {
    const calls: string[] = [];
    const failed = await runPlan(
      [
        { action: 'keep', path: 'a.ipynb', kernel: 'python3' },
        { action: 'start', path: 'b.ipynb', kernel: 'python3' },
        { action: 'open', path: 'c.ipynb', kernel: 'ir' },
        { action: 'open', path: 'gone.ipynb', kernel: null }
      ],
      {
        open: async (path, kernel) => {
          if (path === 'gone.ipynb') {
            throw new Error('No such file');
          }
          calls.push(`open ${path} ${kernel}`);
        },
        start: async (path, kernel) => {
          calls.push(`start ${path} ${kernel}`);
        }
      }
    );
    expect(calls.sort()).toEqual(['open c.ipynb ir', 'start b.ipynb python3']);
    expect(failed).toEqual([{ path: 'gone.ipynb', error: 'No such file' }]);
  });

  it('names the server in the key of the restored start', () => {
    expect(restoredKey('/user/alice/')).not.toEqual(restoredKey('/user/bob/'));
  });
});
