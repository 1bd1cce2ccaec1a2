import { ResourcesModel } from '../resources/model';
import { IResources } from '../resources/types';

function answer(
  serverNow: number,
  endInSeconds: number | null,
  memory: number | null
): IResources {
  return {
    scheduler: 'slurm',
    job: {
      id: '1',
      partition: 'gpu',
      account: 'tier3',
      qos: 'gpu-qos',
      nodes: 'n1',
      environment: null
    },
    allocation: {
      cpus: 2,
      memory_bytes: 8 << 30,
      gpus: 1,
      limits_from: 'slurm'
    },
    time: {
      start: null,
      end:
        endInSeconds === null
          ? null
          : new Date(serverNow + endInSeconds * 1000).toISOString(),
      limit_seconds: 3600,
      remaining_seconds: endInSeconds
    },
    usage: {
      memory_bytes: memory,
      cpu_percent: null,
      gpus: null,
      measured_from: 'processes'
    },
    updated_at: new Date(serverNow).toISOString(),
    scheduler_checked_at: null,
    problems: []
  };
}

describe('ResourcesModel', () => {
  let model: ResourcesModel | null = null;
  afterEach(() => model?.dispose());

  it('counts down from the end, corrected for a server clock 2 minutes ahead', async () => {
    const calls: boolean[] = [];
    model = new ResourcesModel({
      usageInterval: 60_000,
      hiddenInterval: 60_000,
      fetch: async (usage: boolean) => {
        calls.push(usage);
        return answer(Date.now() + 120_000, 600, usage ? 123 : null);
      }
    });
    await model.refresh();
    const remaining = model.remaining();
    expect(remaining).not.toBeNull();
    expect(Math.abs((remaining as number) - 600)).toBeLessThan(2);
    expect(Math.abs(model.skew - 120_000)).toBeLessThan(1000);
    expect(calls[calls.length - 1]).toBe(false); // hidden panel: no usage asked
  });

  it('asks for usage while the panel shows, and keeps it while hidden', async () => {
    const calls: boolean[] = [];
    model = new ResourcesModel({
      usageInterval: 60_000,
      hiddenInterval: 60_000,
      fetch: async (usage: boolean) => {
        calls.push(usage);
        return answer(Date.now(), null, usage ? 4096 : null);
      }
    });
    model.panelVisible = true;
    await model.refresh();
    expect(calls[calls.length - 1]).toBe(true);
    expect(model.data?.usage.memory_bytes).toBe(4096);
    model.panelVisible = false;
    await model.refresh();
    expect(calls[calls.length - 1]).toBe(false);
    expect(model.data?.usage.memory_bytes).toBe(4096);
    expect(model.remaining()).toBeNull(); // no end: no countdown
  });

  it('keeps the last data and reports the error when a poll fails', async () => {
    let fail = false;
    model = new ResourcesModel({
      usageInterval: 60_000,
      hiddenInterval: 60_000,
      fetch: async () => {
        if (fail) {
          throw new Error('server gone');
        }
        return answer(Date.now(), 300, 1);
      }
    });
    await model.refresh();
    let changes = 0;
    model.changed.connect(() => changes++);
    fail = true;
    await model.refresh().catch(() => undefined);
    expect(model.error).toBe('server gone');
    expect(model.data?.time.end).not.toBeNull();
    expect(changes).toBeGreaterThan(0);
  });
});
