/**
 * The functions of `shared/functions.ts` on one machine: each handler module is loaded with the
 * environment its entry gives it (the resources it binds, the settings it reads), as Lambda gives each
 * function its own. A handler reaching for a resource its entry does not bind fails here as on AWS.
 */
import { resolve } from 'node:path';
import type { Context } from 'aws-lambda';
import { type FunctionName, type FunctionSpec, functionEntries, type ResourceRef, resourceVariables } from '#shared/functions';

export type LocalHandler = (event: never, context: Context) => Promise<unknown>;

const root = resolve(import.meta.dirname, '..');

/** A function's own variables: its resources as named here, and those of `settings` its entry reads. */
export function localEnvironment(
  spec: FunctionSpec,
  nameOf: (ref: ResourceRef) => string,
  settings: Readonly<Record<string, string>>,
): Record<string, string> {
  const environment = Object.fromEntries(Object.entries(resourceVariables(spec)).map(([variable, ref]) => [variable, nameOf(ref)]));
  for (const setting of spec.settings ?? []) {
    const value = settings[setting];
    if (value !== undefined) environment[setting] = value;
  }
  return environment;
}

/**
 * Every handler module, imported one at a time with its environment over the process's (the AWS
 * endpoints, the shell's settings). Each reads its configuration as it loads, as on a cold start, so
 * the variables are set for the import only.
 */
export async function loadHandlers(
  environmentOf: (spec: FunctionSpec) => Record<string, string>,
): Promise<Record<FunctionName, LocalHandler>> {
  const handlers: Partial<Record<FunctionName, LocalHandler>> = {};
  for (const [name, spec] of functionEntries()) {
    const environment = environmentOf(spec);
    const saved = Object.fromEntries(Object.keys(environment).map((variable) => [variable, process.env[variable]]));
    Object.assign(process.env, environment);
    try {
      handlers[name] = ((await import(resolve(root, spec.entry))) as { handler: LocalHandler }).handler;
    } finally {
      for (const [variable, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[variable];
        else process.env[variable] = value;
      }
    }
  }
  return handlers as Record<FunctionName, LocalHandler>;
}
