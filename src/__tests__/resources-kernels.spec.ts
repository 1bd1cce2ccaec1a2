import { memoryWarning, peakKernel, storageLevel } from '../resources/format';
import { IKernelUsage, IResources, IStorage } from '../resources/types';

const GiB = 1024 ** 3;

function kernel(path: string | null, gib: number, peak = gib): IKernelUsage {
  return {
    id: `k-${path ?? 'none'}`,
    path,
    kernel_name: 'python3',
    memory_bytes: gib * GiB,
    peak_memory_bytes: peak * GiB,
    cpu_percent: 12.5,
    gpu_memory_bytes: null
  };
}

/** A 4 GiB job using `used` GiB, with these kernels, as GET resources says it. */
function job(
  used: number | null,
  kernels: IKernelUsage[] | null,
  share: number | null = 0.9,
  limit: number | null = 4
): IResources {
  return {
    scheduler: 'slurm',
    job: {
      id: '7',
      partition: 'gpu',
      account: 'tier3',
      qos: null,
      nodes: 'n1',
      environment: null
    },
    allocation: {
      cpus: 2,
      memory_bytes: limit === null ? null : limit * GiB,
      gpus: null,
      limits_from: 'slurm'
    },
    time: {
      start: null,
      end: null,
      limit_seconds: null,
      remaining_seconds: null
    },
    usage: {
      memory_bytes: used === null ? null : used * GiB,
      cpu_percent: null,
      gpus: null,
      measured_from: 'cgroup',
      kernels,
      kernel_memory: 'pss'
    },
    storage: null,
    memory_warning_share: share,
    updated_at: new Date().toISOString(),
    scheduler_checked_at: null,
    problems: []
  };
}

describe('memoryWarning', () => {
  const kernels = [kernel('small.ipynb', 0.2), kernel('work/big.ipynb', 3.3)];

  it('names the notebook using most once the site’s 90 % is passed', () => {
    expect(memoryWarning(job(3.7, kernels), null)).toEqual({
      notebook: 'work/big.ipynb',
      kernelBytes: 3.3 * GiB,
      usedBytes: 3.7 * GiB,
      limitBytes: 4 * GiB
    });
  });

  it('is quiet below the share', () => {
    expect(memoryWarning(job(3.7, kernels, 0.9), null)).not.toBeNull();
    expect(memoryWarning(job(3.7, kernels, 0.95), null)).toBeNull();
  });

  it('follows the user’s percent over the site’s share', () => {
    expect(memoryWarning(job(3, kernels, 0.9), 70)?.notebook).toBe(
      'work/big.ipynb'
    );
    expect(memoryWarning(job(3.5, kernels, 0.9), 0)).toBeNull(); // the user turned it off
    expect(memoryWarning(job(3.9, kernels, 0), null)).toBeNull(); // the site did
  });

  it('needs a limit, a reading and a kernel', () => {
    expect(memoryWarning(job(3.9, kernels, 0.9, null), null)).toBeNull();
    expect(memoryWarning(job(null, kernels), null)).toBeNull();
    expect(memoryWarning(job(3.9, []), null)).toBeNull();
    expect(memoryWarning(job(3.9, null), null)).toBeNull();
  });

  it('names a kernel without a notebook by its id', () => {
    expect(memoryWarning(job(3.9, [kernel(null, 3)]), null)?.notebook).toBe(
      'k-none'
    );
  });
});

describe('peakKernel', () => {
  it('marks the highest peak, not the highest current memory', () => {
    const freed = kernel('freed.ipynb', 0.1, 3.5);
    expect(peakKernel([kernel('now.ipynb', 1, 1.2), freed])).toBe(freed.id);
    expect(peakKernel([])).toBeNull();
    expect(peakKernel(null)).toBeNull();
  });
});

describe('storageLevel', () => {
  const storage = (used: number | null, over = false): IStorage =>
    ({
      path: '/home/alice',
      source: 'quota',
      filesystem: '/dev/sdb1',
      used_bytes: used === null ? null : used * GiB,
      soft_bytes: 8 * GiB,
      hard_bytes: 10 * GiB,
      grace: over ? '6days' : null,
      over_soft: over,
      warning_share: 0.9
    }) as IStorage;

  it('warns near the hard limit and says over past the soft one', () => {
    expect(storageLevel(storage(5))).toBe('ok');
    expect(storageLevel(storage(9.2))).toBe('near');
    expect(storageLevel(storage(8.5, true))).toBe('over');
    expect(storageLevel(storage(10))).toBe('over');
  });

  it('says nothing before the first reading', () => {
    expect(storageLevel(storage(null))).toBeNull();
    expect(storageLevel(null)).toBeNull();
  });
});
