/**
 * Every setting Prisme reads from the environment, each with its zod schema, default and reason:
 * the one place a variable is parsed. Functions read theirs through `loadConfig` (`shared/config.ts`);
 * the CDK app and the local runtime check what they forward or use with `readSettings`.
 */

import type { CountryCode } from 'libphonenumber-js';
import { z } from 'zod';
import { PrismeError } from './domain/errors';
import { DEFAULT_IDENTITY_CONFIG, type IdentityConfig } from './domain/identity';
import { freezeSettings, processorSettings, segmentEvaluationDelaySeconds } from './resources';

/** The environment is missing a variable or holds one that does not parse. */
export class ConfigError extends PrismeError {}

export type Env = Readonly<Record<string, string | undefined>>;

/** Unset and empty are the same: a deploy tool or a shell may export a variable empty. */
const text = z
  .string()
  .optional()
  .transform((value) => value || undefined);

const list = text.transform((value) =>
  (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean),
);

const flag = text.transform((value) => ['1', 'true', 'yes'].includes((value ?? '').toLowerCase()));

function number(fallback: number, { min = 0, integer = false }: { min?: number; integer?: boolean } = {}) {
  return text.transform((raw, ctx) => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    const wrong = !Number.isFinite(value)
      ? 'a number'
      : integer && !Number.isInteger(value)
        ? 'a whole number'
        : value < min
          ? `at least ${min}`
          : undefined;
    if (wrong) ctx.issues.push({ code: 'custom', message: `must be ${wrong}, got "${raw}"`, input: raw });
    return value;
  });
}

const settingsShape = {
  /** Path-style S3 addressing: s3rver, locally, knows no virtual-hosted buckets. */
  S3_FORCE_PATH_STYLE: flag,
  /** X-Ray tracing of the handlers and their AWS calls (`-c prisme:tracing=true` at deploy). */
  PRISME_TRACING: flag,
  /** Where metrics go as JSON lines (the local runtime's data folder); unset, to stdout as EMF for CloudWatch. */
  PRISME_METRICS_FILE: text,
  /** How long ingest trusts a write key lookup: a revoked key stops working after this. */
  SOURCE_CACHE_TTL_MS: number(60_000),
  /** Events per second one source may send to one ingest instance; 0 is no limit. */
  INGEST_EVENTS_PER_SECOND_PER_SOURCE: number(0),
  /** Where browsers reach ingest behind a custom domain (context `prisme:publicUrl`). */
  PRISME_PUBLIC_URL: text,
  /** Where the bundle keeps Segment's browser library; unset, it is read from node_modules. */
  PRISME_BROWSER_LIBRARY_DIR: text,
  /** How long a processor evaluates with a segment catalog it read. */
  SEGMENT_CACHE_TTL_MS: number(processorSettings.segmentCacheSeconds * 1000),
  /** Profiles a processor writes at once. */
  PROFILE_WRITE_CONCURRENCY: number(16, { min: 1, integer: true }),
  /** Wait before a new segment's first evaluation: past every processor's cached catalog. */
  SEGMENT_EVALUATION_DELAY_S: number(segmentEvaluationDelaySeconds),
  /** How long a segment preview scans, under the HTTP API's 30 s integration limit. */
  PREVIEW_BUDGET_MS: number(20_000, { min: 1 }),
  /** Bearer token of the admin API, set locally; on AWS the HTTP API's authorizer guards it instead. */
  ADMIN_TOKEN: text,
  /** Parallel scan segments of the daily freeze, one worker each. */
  FREEZE_SEGMENTS: number(freezeSettings.scanSegments, { min: 1, integer: true }),
  /** When the daily freeze runs, `m h dom mon dow` UTC; read by the stack and the local runtime (`shared/schedule-settings.ts`). */
  PRISME_FREEZE_CRON: z
    .string()
    .optional()
    .transform((value) => value?.trim() || undefined)
    .refine((cron) => cron === undefined || cron.split(/\s+/).length === 5, {
      error: (issue) => `"${String(issue.input)}" should have five fields, minute hour day month weekday (e.g. "30 2 * * *")`,
    }),
  /** Default region of phone numbers without a country code (default FR). */
  PRISME_PHONE_REGION: text,
  /** Traits or properties that hold a loyalty card number. */
  PRISME_LOYALTY_TRAITS: list,
  /** Regular expressions of placeholder identifiers that never match anyone. */
  PRISME_BLOCKED_IDENTIFIERS: list.transform((patterns, ctx) =>
    patterns.map((pattern) => {
      try {
        return new RegExp(pattern, 'i');
      } catch (error) {
        ctx.issues.push({
          code: 'custom',
          message: `"${pattern}" is not a regular expression: ${(error as Error).message}`,
          input: pattern,
        });
        return /$^/;
      }
    }),
  ),
  /** Identifiers of a type one profile may hold (`userId:1,email:3`), over the defaults type by type. */
  PRISME_IDENTITY_LIMITS: list.transform((rules, ctx) => {
    const limits: Array<[string, number]> = [];
    for (const rule of rules) {
      const [type, limit] = rule.split(':').map((part) => part.trim());
      if (type && /^[1-9]\d*$/.test(limit ?? '')) limits.push([type, Number(limit)]);
      else
        ctx.issues.push({
          code: 'custom',
          message: `"${rule}" should read type:limit, with a whole limit of at least 1 (e.g. email:3)`,
          input: rule,
        });
    }
    return Object.fromEntries(limits);
  }),
  /** Identifier types, most trusted first. */
  PRISME_IDENTITY_PRIORITY: list,
};

export type SettingName = keyof typeof settingsShape;

export type Settings = { [S in SettingName]: z.output<(typeof settingsShape)[S]> };

/** How identifiers are read and matched: every function that resolves them reads the same ones. */
export const IDENTITY_SETTINGS = [
  'PRISME_PHONE_REGION',
  'PRISME_LOYALTY_TRAITS',
  'PRISME_BLOCKED_IDENTIFIERS',
  'PRISME_IDENTITY_LIMITS',
  'PRISME_IDENTITY_PRIORITY',
] as const satisfies readonly SettingName[];

type IdentitySetting = (typeof IDENTITY_SETTINGS)[number];

/** Some settings, outside a function: the CDK app and the local runtime check what they forward or use. */
export function readSettings<S extends SettingName>(names: readonly S[], env: Env = process.env): Pick<Settings, S> {
  return parse(undefined, z.object(pick(names)), env) as Pick<Settings, S>;
}

/** The identity settings over the defaults (PRISME_PHONE_REGION FR, ...). */
export function identityConfigOf(settings: Pick<Settings, IdentitySetting>): IdentityConfig {
  const or = <T>(values: readonly T[], fallback: readonly T[]) => (values.length > 0 ? values : fallback);
  return {
    phoneRegion: (settings.PRISME_PHONE_REGION ?? DEFAULT_IDENTITY_CONFIG.phoneRegion) as CountryCode,
    loyaltyTraits: or(settings.PRISME_LOYALTY_TRAITS, DEFAULT_IDENTITY_CONFIG.loyaltyTraits),
    blockedPatterns: settings.PRISME_BLOCKED_IDENTIFIERS,
    limits: { ...DEFAULT_IDENTITY_CONFIG.limits, ...settings.PRISME_IDENTITY_LIMITS },
    priority: or(settings.PRISME_IDENTITY_PRIORITY, DEFAULT_IDENTITY_CONFIG.priority),
  };
}

export const identityConfigFrom = (env: Env = process.env): IdentityConfig => identityConfigOf(readSettings(IDENTITY_SETTINGS, env));

export function pick(names: readonly SettingName[]): Partial<typeof settingsShape> {
  return Object.fromEntries(names.map((name) => [name, settingsShape[name]]));
}

export function parse(scope: string | undefined, schema: z.ZodObject, env: Env): Record<string, unknown> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  throw new ConfigError(`Invalid environment${scope ? ` for ${scope}` : ''}: ${problems.join('; ')}`);
}
