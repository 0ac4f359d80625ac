/** Sources: who may send events, with which write key, default channel and browser origins. Pure: no I/O. */
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { CHANNELS } from './events';

/** Only the hash of a write key is ever stored. */
export const hashWriteKey = (writeKey: string): string => createHash('sha256').update(writeKey).digest('hex');

export const newWriteKey = (): string => `wk_${randomBytes(24).toString('hex')}`;

export const MAX_ALLOWED_ORIGINS = 100;

/**
 * An origin a browser may send this source's events from: `https://shop.example.com` (scheme, host
 * and port as the browser's Origin header writes them), `https://*.example.com` (any subdomain, not
 * the domain itself), or `*` (any site: the write key is public anyway, but then any page can send).
 */
export const originPatternSchema = z
  .string()
  .trim()
  .toLowerCase()
  .transform((pattern) => pattern.replace(/\/+$/, ''))
  .refine((pattern) => pattern === '*' || isOriginPattern(pattern), {
    message:
      'must be an origin such as https://shop.example.com or https://*.example.com (scheme and host, with a port if not the default; no path), or *',
  });

const HOST_NAME = /^(\[[0-9a-f:.]+\]|[a-z0-9-]+(\.[a-z0-9-]+)*)$/;

function isOriginPattern(pattern: string): boolean {
  const wildcard = /^(https?):\/\/\*\.(.+)$/.exec(pattern);
  const candidate = wildcard ? `${wildcard[1]}://${wildcard[2]}` : pattern;
  try {
    const url = new URL(candidate);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === candidate && HOST_NAME.test(url.hostname);
  } catch {
    return false;
  }
}

export const sourceInputSchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  defaultChannel: z.enum(CHANNELS).default('web'),
  /** Browser origins allowed to send (CORS); none for a server or mobile source. */
  allowedOrigins: z.array(originPatternSchema).max(MAX_ALLOWED_ORIGINS).default([]),
});

export const sourceUpdateSchema = z.strictObject({
  name: sourceInputSchema.shape.name.optional(),
  allowedOrigins: sourceInputSchema.shape.allowedOrigins.unwrap().optional(),
});

export type SourceInput = z.infer<typeof sourceInputSchema>;
export type SourceUpdate = z.infer<typeof sourceUpdateSchema>;

/** Whether a browser at `origin` (its Origin header) may send with a source allowing `patterns`. */
export function originAllowed(origin: string, patterns: readonly string[]): boolean {
  const candidate = origin.toLowerCase();
  return patterns.some((pattern) => {
    if (pattern === '*' || pattern === candidate) return true;
    const wildcard = /^(https?:\/\/)\*(\..+)$/.exec(pattern);
    if (!wildcard) return false;
    const [, scheme, suffix] = wildcard as unknown as [string, string, string];
    // `.example.com` must end the host, with at least one label before it.
    return (
      candidate.startsWith(scheme) &&
      candidate.endsWith(suffix) &&
      candidate.length > scheme.length + suffix.length &&
      !candidate.slice(scheme.length, -suffix.length).includes('/')
    );
  });
}
