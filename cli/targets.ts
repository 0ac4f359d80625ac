/**
 * Where a command finds Prisme: the `npm start` running in the data folder (its runtime.json), or AWS
 * from the environment and the usual credentials.
 */

import { SQSClient } from '@aws-sdk/client-sqs';
import { strictAdminClient } from '#local/admin-client';
import { dataDirOf, findRuntime, localCredentials } from '#local/runtime-file';
import { HEALTH_PATH } from '#shared/routes';

export interface Queues {
  sqs: SQSClient;
  events: string;
  deadLetter: string;
  /** The local runtime's /health (exact counts, and its running handlers); SQS's counts trail by up to a minute. */
  localHealth?: string;
}

export function queuesOf(dataDirOption: string | undefined): Queues {
  const dataDir = dataDirOf(dataDirOption);
  const runtime = findRuntime(dataDir);
  if (runtime) {
    const sqs = new SQSClient({
      endpoint: runtime.endpoints.sqs,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    return { sqs, events: runtime.queues.events, deadLetter: runtime.queues.deadLetter, localHealth: `${runtime.url}${HEALTH_PATH}` };
  }
  const events = process.env.EVENTS_QUEUE_URL;
  const deadLetter = process.env.DEAD_LETTER_QUEUE_URL;
  if (!events || !deadLetter) {
    throw new Error(`no running Prisme in ${dataDir} (no runtime.json), and EVENTS_QUEUE_URL / DEAD_LETTER_QUEUE_URL are not set`);
  }
  return { sqs: new SQSClient({}), events, deadLetter };
}

export interface AdminApi {
  call<T>(method: string, path: string, body?: unknown): Promise<T>;
}

/** The admin API at --url with --token, or the local runtime's with its admin token. */
export function adminApiOf(options: { url?: string; token?: string; dataDir?: string }): AdminApi {
  let { url, token } = options;
  if (!url) {
    const dataDir = dataDirOf(options.dataDir);
    const runtime = findRuntime(dataDir);
    if (!runtime) throw new Error(`no running Prisme in ${dataDir} (no runtime.json); give --url and --token`);
    url = runtime.url;
    token ??= localCredentials(dataDir).adminToken;
  }
  return { call: strictAdminClient({ url, adminToken: token }) };
}
