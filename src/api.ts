import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** The server extension's URL prefix, below the server's base URL. */
export const API_PREFIX = 'sdcc-lab/api';

/** An error answered by the server extension, with its status and message. */
export class APIError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message);
  }
}

/**
 * Call the sdcc_lab server extension. `ServerConnection` sends the XSRF
 * token, which the server requires of cookie-authenticated requests.
 */
export async function requestAPI<T>(
  endPoint: string,
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, API_PREFIX, endPoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  const text = await response.text();
  let data: any = null;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const message =
      data && typeof data.message === 'string'
        ? data.message
        : `${response.status} ${response.statusText}`;
    throw new APIError(response.status, message);
  }
  return data as T;
}

/** The words of a failed call a user reads: the server's message, or the error's. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
