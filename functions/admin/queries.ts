/** Query parameters the admin routes share, as schemas: a bad one is a 400 naming it. */
import { z } from 'zod';

/** `?limit=` given empty is the same as not given. */
const optional = <T extends z.ZodType>(schema: T) => z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

export const MAX_PAGE = 1000;

/** A calendar day that exists: `2026-13-01` and `2026-02-30` are refused, not read as some other day. */
export const day = z.iso.date({ error: 'must be a day, YYYY-MM-DD' });

export const limitQuery = z.object({
  limit: optional(z.coerce.number().int().min(1).max(MAX_PAGE)).transform((limit) => limit ?? 100),
});

export const pageQuery = limitQuery.extend({ cursor: optional(z.string()) });

export const periodQuery = z.object({ from: optional(day), to: optional(day) });

export const historyQuery = z.object({
  days: optional(z.coerce.number().int().min(1).max(400)).transform((days) => days ?? 30),
});

/** A family (named, or segment ids separated by commas), the horizon, the days observed, and perhaps a person. */
export const forecastQuery = z.object({
  family: z.string().min(1).max(1000),
  days: optional(z.coerce.number().int().min(1).max(365)).transform((days) => days ?? 30),
  observe: optional(z.coerce.number().int().min(7).max(400)).transform((days) => days ?? 30),
  profileId: optional(z.string().min(1)),
});

export const kpiQuery = limitQuery.extend({ runId: optional(z.string()) });

/** Seconds an ESP link stays valid: a minute to a week (S3's longest presigned link); the variant's file in an experiment. */
export const linkQuery = z.object({
  expiresIn: optional(z.coerce.number().int().min(60).max(604_800)).transform((seconds) => seconds ?? 86_400),
  variant: optional(z.string().min(1).max(64)),
});
