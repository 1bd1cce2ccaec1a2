/**
 * The session endpoint, through the extension's one HTTP helper.
 */
import { requestAPI } from '../api';
import { IInfo } from '../tokens';

/** `GET sdcc-lab/api/info`: the user, the session's identity, the version. */
export function fetchInfo(): Promise<IInfo> {
  return requestAPI<IInfo>('info');
}
