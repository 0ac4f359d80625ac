/**
 * A function's configuration, read once at module scope: the resource variables its entry in
 * `shared/functions.ts` binds (all required) and the settings it reads (`shared/settings.ts`). A
 * missing or malformed variable stops the cold start with the variable's name, never a request.
 */
import { z } from 'zod';
import { type FunctionName, type FunctionSpec, functions, resourceVariables } from './functions';
import { type Env, parse, pick, type SettingName, type Settings } from './settings';

const required = z.string({ error: 'not set' }).min(1, 'not set');

/** Read by every function: the AWS clients', where metrics go, and whether to trace. */
const COMMON_SETTINGS = ['S3_FORCE_PATH_STYLE', 'PRISME_METRICS_FILE', 'PRISME_TRACING'] as const satisfies readonly SettingName[];

type SettingsOf<N extends FunctionName> = (typeof functions)[N] extends { readonly settings: readonly (infer S extends SettingName)[] }
  ? S
  : never;

export interface FunctionConfig<N extends FunctionName = FunctionName> {
  readonly function: N;
  /** Table names, queue URLs, the bucket and the bus, by environment variable: those its entry binds. */
  readonly resources: Readonly<Record<string, string>>;
  readonly settings: Pick<Settings, SettingsOf<N> | (typeof COMMON_SETTINGS)[number]>;
}

/** One function's configuration: the resources its entry in `shared/functions.ts` binds (all required), and its settings. */
export function loadConfig<N extends FunctionName>(name: N, env: Env = process.env): FunctionConfig<N> {
  const spec: FunctionSpec = functions[name];
  const resourceNames = Object.keys(resourceVariables(spec));
  const settingNames = [...COMMON_SETTINGS, ...(spec.settings ?? [])];
  const parsed = parse(
    `the ${name} function`,
    z.object({ ...pick(settingNames), ...Object.fromEntries(resourceNames.map((variable) => [variable, required])) }),
    env,
  );
  return {
    function: name,
    resources: Object.fromEntries(resourceNames.map((variable) => [variable, parsed[variable] as string])),
    settings: Object.fromEntries(settingNames.map((setting) => [setting, parsed[setting]])) as FunctionConfig<N>['settings'],
  };
}
