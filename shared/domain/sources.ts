/** Sources: who may send events, with which write key and default channel. Pure: no I/O. */
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { CHANNELS } from './events';

/** Only the hash of a write key is ever stored. */
export const hashWriteKey = (writeKey: string): string => createHash('sha256').update(writeKey).digest('hex');

export const newWriteKey = (): string => `wk_${randomBytes(24).toString('hex')}`;

export const sourceInputSchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  defaultChannel: z.enum(CHANNELS).default('web'),
});
