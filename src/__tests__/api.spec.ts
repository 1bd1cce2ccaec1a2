/**
 * The feature api modules call the one HTTP helper with the right endpoint
 * and method; the helper turns the server's answers into values or APIErrors.
 */
import { ServerConnection } from '@jupyterlab/services';

import { APIError, requestAPI } from '../api';
import * as resources from '../resources/api';
import * as session from '../session/api';
import * as share from '../share/api';

jest.mock('../api', () => {
  const actual = jest.requireActual('../api');
  return { ...actual, requestAPI: jest.fn(actual.requestAPI) };
});

const mocked = requestAPI as jest.MockedFunction<typeof requestAPI>;

describe('feature api modules', () => {
  const calls: [string, RequestInit | undefined][] = [];
  beforeEach(() => {
    calls.length = 0;
    mocked.mockImplementation(async (endPoint: string, init?: RequestInit) => {
      calls.push([endPoint, init]);
      return endPoint === 'workers' && !init ? { workers: [] } : ({} as any);
    });
  });

  it('resources: usage or end only, list and cancel workers', async () => {
    await resources.fetchResources(true);
    await resources.fetchResources(false);
    expect(await resources.listWorkers()).toEqual([]);
    await resources.cancelWorkers('12 3');
    await resources.cancelWorkers(null);
    expect(calls).toEqual([
      ['resources', undefined],
      ['resources?usage=0', undefined],
      ['workers', undefined],
      ['workers/12%203', { method: 'DELETE' }],
      ['workers', { method: 'DELETE' }]
    ]);
  });

  it('session: info', async () => {
    await session.fetchInfo();
    expect(calls).toEqual([['info', undefined]]);
  });

  it('share: create, list, revoke, preview, import', async () => {
    await share.createShare('a b.ipynb', 3600);
    await share.createShare('c.ipynb', 60, { users: ['bob'], groups: [] });
    await share.listShares();
    await share.revokeShare('x/y');
    await share.previewImport('http://hub/l');
    await share.importLink('http://hub/l');
    expect(calls.map(([e, i]) => [e, i?.method ?? 'GET', i?.body])).toEqual([
      [
        'shares',
        'POST',
        JSON.stringify({ path: 'a b.ipynb', expires_in: 3600, audience: null })
      ],
      [
        'shares',
        'POST',
        JSON.stringify({
          path: 'c.ipynb',
          expires_in: 60,
          audience: { users: ['bob'], groups: [] }
        })
      ],
      ['shares', 'GET', undefined],
      ['shares/x%2Fy', 'DELETE', undefined],
      ['imports/preview', 'POST', JSON.stringify({ link: 'http://hub/l' })],
      ['imports', 'POST', JSON.stringify({ link: 'http://hub/l' })]
    ]);
  });
});

describe('requestAPI', () => {
  const actual = jest.requireActual('../api') as {
    requestAPI: typeof requestAPI;
  };

  function settings(status: number, body: string): ServerConnection.ISettings {
    return ServerConnection.makeSettings({
      baseUrl: 'http://127.0.0.1:1/',
      fetch: async (input: RequestInfo | URL) => {
        const url = typeof input === 'string' ? input : (input as Request).url;
        return new Response(status === 204 ? null : body, {
          status,
          statusText: status === 503 ? 'Service Unavailable' : 'OK',
          headers: { 'X-URL': url }
        });
      }
    });
  }

  it('returns the JSON answer, null for an empty one', async () => {
    expect(
      await actual.requestAPI('info', {}, settings(200, '{"user": "alice"}'))
    ).toEqual({ user: 'alice' });
    expect(await actual.requestAPI('x', {}, settings(204, ''))).toBeNull();
  });

  it('raises the server message with its status', async () => {
    const error = await actual
      .requestAPI('shares', {}, settings(403, '{"message": "not yours"}'))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(APIError);
    expect(error).toMatchObject({ status: 403, message: 'not yours' });
  });

  it('names the status when the answer has no message', async () => {
    const error = await actual
      .requestAPI('shares', {}, settings(503, '<html>proxy</html>'))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      status: 503,
      message: '503 Service Unavailable'
    });
  });
});
