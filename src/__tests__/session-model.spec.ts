import { SessionModel } from '../session/model';
import { IInfo } from '../tokens';

const INFO: IInfo = {
  version: '0.1.0',
  user: 'alice',
  session: { scheduler: 'slurm', options: { partition: 'gpu' } }
};

describe('SessionModel', () => {
  it('asks the server once and keeps the answer', async () => {
    let calls = 0;
    const model = new SessionModel({
      fetch: async () => {
        calls++;
        return INFO;
      }
    });
    const [a, b] = await Promise.all([model.info(), model.info()]);
    expect(await model.info()).toBe(INFO);
    expect(a).toBe(INFO);
    expect(b).toBe(INFO);
    expect(calls).toBe(1);
  });

  it('asks again after a failed read', async () => {
    let calls = 0;
    const model = new SessionModel({
      fetch: async () => {
        calls++;
        if (calls === 1) {
          throw new Error('server extension missing');
        }
        return INFO;
      }
    });
    await expect(model.info()).rejects.toThrow('server extension missing');
    expect(await model.info()).toBe(INFO);
    expect(calls).toBe(2);
  });
});
