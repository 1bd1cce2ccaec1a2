import { IWorkerJob } from '../resources/types';
import { WorkersModel } from '../resources/workersmodel';

const job = (id: string, state = 'RUNNING'): IWorkerJob => ({
  id,
  name: 'dask-alice-12',
  state,
  reason: state === 'PENDING' ? 'Resources' : null,
  cpus: 1,
  memory_bytes: 1024 ** 3,
  gpus: 0,
  partition: 'gpu'
});

describe('WorkersModel', () => {
  it('cancels one job, then shows the list the server gives', async () => {
    let jobs = [job('101'), job('102', 'PENDING')];
    const cancelled: (string | null)[] = [];
    const model = new WorkersModel({
      list: async () => jobs,
      cancel: async id => {
        cancelled.push(id);
        jobs = jobs.filter(j => j.id !== id);
      }
    });
    await model.cancel('101');
    expect(cancelled).toEqual(['101']);
    expect(model.workers.map(w => w.id)).toEqual(['102']);
    expect(model.error).toBeNull();
    model.dispose();
  });

  it('cancels all with null', async () => {
    let jobs = [job('101'), job('102')];
    const model = new WorkersModel({
      list: async () => jobs,
      cancel: async id => {
        expect(id).toBeNull();
        jobs = [];
      }
    });
    await model.cancel(null);
    expect(model.workers).toEqual([]);
    model.dispose();
  });

  it('keeps the message of a refused cancel and the list as it is', async () => {
    const model = new WorkersModel({
      list: async () => [job('101')],
      cancel: async () => {
        throw new Error('Slurm did not answer');
      }
    });
    await model.cancel('101');
    expect(model.error).toBe('Slurm did not answer');
    expect(model.workers.map(w => w.id)).toEqual(['101']);
    expect(model.isCancelling('101')).toBe(false);
    model.dispose();
  });
});
