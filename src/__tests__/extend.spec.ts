import { APIError } from '../api';
import { ResourcesModel } from '../resources/model';
import { IExtendPolicy, IExtendResult, IResources } from '../resources/types';

/** A server whose job ends `end` (ms), as GET resources and POST extend see it. */
class FakeServer {
  constructor(public scheduler: IResources['scheduler'] = 'slurm') {}
  end = Date.now() + 600_000;
  limit = 600;
  left = 2;
  policyCalls = 0;
  refuse: string | null = null;

  resources = async (): Promise<IResources> => ({
    scheduler: this.scheduler,
    job: {
      id: '7',
      partition: 'gpu',
      account: 'tier3',
      qos: 'gpu-qos',
      nodes: 'n1',
      environment: null
    },
    allocation: { cpus: 1, memory_bytes: null, gpus: null, limits_from: null },
    time: {
      start: null,
      end: new Date(this.end).toISOString(),
      limit_seconds: this.limit,
      remaining_seconds: null
    },
    usage: {
      memory_bytes: null,
      cpu_percent: null,
      gpus: null,
      measured_from: null
    },
    updated_at: new Date().toISOString(),
    scheduler_checked_at: null,
    problems: []
  });

  policy = async (): Promise<IExtendPolicy> => {
    this.policyCalls += 1;
    return {
      available: this.left > 0,
      reason: this.left > 0 ? null : 'This session was extended 2 times.',
      max_minutes: 45,
      minutes: [15, 30, 45],
      extensions_left: this.left
    };
  };

  extend = async (minutes: number): Promise<IExtendResult> => {
    if (this.refuse !== null) {
      throw new APIError(403, this.refuse);
    }
    this.end += minutes * 60_000;
    this.limit += minutes * 60;
    this.left -= 1;
    return {
      end: new Date(this.end).toISOString(),
      limit_seconds: this.limit,
      extensions_left: this.left
    };
  };
}

function modelOf(server: FakeServer): ResourcesModel {
  return new ResourcesModel({
    usageInterval: 60_000,
    hiddenInterval: 60_000,
    fetch: server.resources,
    extend: server.extend,
    extendPolicy: server.policy
  });
}

describe('ResourcesModel.extend', () => {
  let model: ResourcesModel | null = null;
  afterEach(() => model?.dispose());

  it('moves the countdown to the new end at once and reads the policy again', async () => {
    const server = new FakeServer();
    model = modelOf(server);
    await model.refresh();
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(model.extendPolicy?.extensions_left).toBe(2);
    expect(Math.abs((model.remaining() as number) - 600)).toBeLessThan(2);

    const changed: number[] = [];
    model.changed.connect(() => changed.push(model?.remaining() ?? -1));
    expect(await model.extend(10)).toBe(true);
    expect(Math.abs((model.remaining() as number) - 1200)).toBeLessThan(2);
    expect(model.data?.time.limit_seconds).toBe(1200);
    expect(model.extendMessage).toEqual({ ok: true, minutes: 10, text: '' });
    expect(model.extendPolicy?.extensions_left).toBe(1);
    // The first change after the answer already carries the new end.
    expect(changed.some(r => Math.abs(r - 1200) < 2)).toBe(true);
    expect(model.extending).toBe(false);
  });

  it('keeps the end and says the hub’s reason when it refuses', async () => {
    const server = new FakeServer();
    server.refuse = 'at most 45 min can be added at a time';
    model = modelOf(server);
    await model.refresh();
    expect(await model.extend(60)).toBe(false);
    expect(Math.abs((model.remaining() as number) - 600)).toBeLessThan(2);
    expect(model.extendMessage).toEqual({
      ok: false,
      minutes: 60,
      text: 'at most 45 min can be added at a time'
    });
  });

  it('asks the policy of batch sessions only, once', async () => {
    const local = new FakeServer('local');
    model = modelOf(local);
    await model.refresh();
    await model.refresh();
    expect(local.policyCalls).toBe(0);
    expect(model.extendPolicy).toBeNull();
    model.dispose();

    const slurm = new FakeServer();
    model = modelOf(slurm);
    await model.refresh();
    await model.refresh();
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(slurm.policyCalls).toBe(1);
  });

  it('turns a policy that cannot be read into an unavailable one with the reason', async () => {
    const server = new FakeServer();
    server.policy = async () => {
      throw new APIError(503, 'the hub did not answer');
    };
    model = modelOf(server);
    await model.loadExtendPolicy();
    expect(model.extendPolicy).toEqual({
      available: false,
      reason: 'the hub did not answer',
      max_minutes: 0,
      minutes: [],
      extensions_left: 0
    });
  });
});
