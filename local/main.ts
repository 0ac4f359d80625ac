/** `npm start`: Prisme on this machine, same handlers as on AWS. */

import { originPatternSchema } from '#shared/domain/sources';
import { sdkNodeNotice } from './node-version';
import { startLocal } from './runtime';
import { dataDirOf } from './runtime-file';
import { UsageMeter } from './usage-meter';

/** `PRISME_ALLOWED_ORIGINS=http://localhost:8080,https://*.example.com`: the sites whose pages may send with the default write key. */
function allowedOriginsFromEnv(): string[] | undefined {
  const raw = process.env.PRISME_ALLOWED_ORIGINS;
  if (raw === undefined) return undefined;
  const parsed = originPatternSchema.array().safeParse(raw.split(',').filter((origin) => origin.trim() !== ''));
  if (!parsed.success) {
    console.error(`PRISME_ALLOWED_ORIGINS: ${parsed.error.issues.map((issue) => issue.message).join('; ')}`);
    process.exit(1);
  }
  return parsed.data;
}

const nodeNotice = sdkNodeNotice();
const port = Number(process.env.PORT ?? 3000);
const runtime = await startLocal({
  dataDir: dataDirOf(undefined),
  port,
  host: process.env.HOST ?? '127.0.0.1',
  writeKey: process.env.PRISME_WRITE_KEY,
  adminToken: process.env.PRISME_ADMIN_TOKEN,
  allowedOrigins: allowedOriginsFromEnv(),
  visibilityTimeoutMs: process.env.PRISME_VISIBILITY_TIMEOUT_S ? Number(process.env.PRISME_VISIBILITY_TIMEOUT_S) * 1000 : undefined,
  pollers: process.env.PRISME_PROCESSORS ? Number(process.env.PRISME_PROCESSORS) : undefined,
  usageMeter: process.env.PRISME_USAGE_METER === '1' ? new UsageMeter() : undefined,
}).catch((error: Error & { code?: string }) => {
  if (error.code === 'EADDRINUSE') console.error(`Port ${port} is in use: set PORT to another port, e.g. PORT=3001 npm start`);
  else if (error.name === 'DataDirInUseError') console.error(error.message);
  else console.error(error);
  process.exit(1);
});

const basic = Buffer.from(`${runtime.writeKey}:`).toString('base64');
process.stdout.write(`
Prisme is running locally.

  Console      ${runtime.url}/console/#token=${runtime.adminToken}
  API          ${runtime.url}
  Write key    ${runtime.writeKey}
  Admin token  ${runtime.adminToken}
  Browsers     ${runtime.allowedOrigins.length > 0 ? runtime.allowedOrigins.join(', ') : 'none allowed (PRISME_ALLOWED_ORIGINS=http://localhost:8080 npm start)'}
  Data         ${runtime.dataDir}  (DynamoDB via dynalite, S3 bucket "${runtime.bucket}" via s3rver, queues, events.jsonl)

Send an event:
  curl -s ${runtime.url}/v1/track -H 'content-type: application/json' -H 'authorization: Basic ${basic}' \\
    -d '{"userId":"u1","event":"Order Completed","properties":{"revenue":42}}'
Read the profile:
  curl -s '${runtime.url}/v1/profiles?userId=u1' -H 'authorization: Bearer ${runtime.adminToken}'

A realistic demo stream, segments and a snapshot: npm run demo (in another terminal)
Logs follow as JSON lines. Ctrl-C stops; every acknowledged event is kept on disk.
${nodeNotice ? `(${nodeNotice}.)\n` : ''}
`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    console.error('Stopping Prisme...');
    void runtime.stop().then(() => process.exit(0));
  });
}
