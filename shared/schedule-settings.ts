/**
 * The schedules as configured: the defaults of `shared/resources.ts`, and the freeze's time from
 * PRISME_FREEZE_CRON (`m h dom mon dow`, UTC; its shape checked by `shared/config.ts`, its pattern by
 * croner here, which the functions need not bundle). Read by the CDK app at synth and by the local
 * runtime at start, so a bad pattern stops either with its reason.
 */
import { Cron } from 'croner';
import { schedules } from './resources';
import { ConfigError, readSettings } from './settings';

export type Schedules = Record<keyof typeof schedules, { cron: string; description: string }>;

export function configuredSchedules(env?: NodeJS.ProcessEnv): Schedules {
  const freeze = readSettings(['PRISME_FREEZE_CRON'], env).PRISME_FREEZE_CRON;
  if (!freeze) return schedules;
  try {
    new Cron(freeze, { paused: true }).stop();
  } catch (error) {
    throw new ConfigError(`PRISME_FREEZE_CRON: "${freeze}" is not a cron pattern: ${(error as Error).message}`);
  }
  return { ...schedules, freeze: { ...schedules.freeze, cron: freeze } };
}
