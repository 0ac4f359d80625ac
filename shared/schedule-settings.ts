/**
 * The schedules as configured: the defaults of `shared/resources.ts`, and the freeze's time from
 * PRISME_FREEZE_CRON (`m h dom mon dow`, UTC), checked with croner. Read by the CDK app at synth and
 * by the local runtime at start, so a bad pattern stops either with its reason.
 */
import { Cron } from 'croner';
import { schedules } from './resources';

export type Schedules = Record<keyof typeof schedules, { cron: string; description: string }>;

export function configuredSchedules(env: NodeJS.ProcessEnv = process.env): Schedules {
  const freeze = env.PRISME_FREEZE_CRON?.trim();
  if (!freeze) return schedules;
  if (freeze.split(/\s+/).length !== 5) throw new Error(`PRISME_FREEZE_CRON: "${freeze}" should have five fields, minute hour day month weekday (e.g. "30 2 * * *")`);
  try {
    new Cron(freeze, { paused: true }).stop();
  } catch (error) {
    throw new Error(`PRISME_FREEZE_CRON: "${freeze}" is not a cron pattern: ${(error as Error).message}`);
  }
  return { ...schedules, freeze: { ...schedules.freeze, cron: freeze } };
}
