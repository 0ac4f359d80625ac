/**
 * Segments as every consumer sees them: the stored ones plus the stage segments Prisme manages from
 * the indicator definitions, which can be read, listed, evaluated and exported like any segment but
 * not replaced or deleted; and the rules compiled from them.
 */

import type { IndicatorDefinition } from '../domain/indicator-settings';
import { compileIndicators, type IndicatorModel } from '../domain/indicators';
import { type CompiledRules, compileRules } from '../domain/memberships';
import type { Segment } from '../domain/segment-definition';
import { isStageSegmentId, stageSegments } from '../domain/stages';
import { ConflictError } from '../errors';
import type { Collection, DefinitionStore } from '../ports/catalog';

export async function indicatorModel(store: Pick<DefinitionStore, 'indicators'>): Promise<IndicatorModel> {
  return compileIndicators(await store.indicators.list());
}

const stagesOf = (definitions: readonly IndicatorDefinition[], model = compileIndicators(definitions)): Segment[] =>
  stageSegments(
    model,
    definitions
      .map((d) => d.updatedAt)
      .sort()
      .at(-1),
  );

/** The stored segments behind each wrapped store, for reading them with the definitions in one go. */
const storedSegments = new WeakMap<object, Collection<Segment>>();

function managed(store: DefinitionStore): Collection<Segment> {
  const stored = store.segments;
  const stages = async () => stagesOf(await store.indicators.list());
  const refuse = (id: string) =>
    new ConflictError(
      `segment ${id} is managed by Prisme from the indicator definitions; change them with PUT /v1/indicators/{definition}`,
    );
  return {
    get: async (id) => (isStageSegmentId(id) ? (await stages()).find((s) => s.id === id) : stored.get(id)),
    list: async () => {
      const [own, stage] = await Promise.all([stored.list(), stages()]);
      return [...own, ...stage];
    },
    put: async (doc) => {
      if (isStageSegmentId(doc.id)) throw refuse(doc.id);
      return stored.put(doc);
    },
    delete: async (id) => {
      if (isStageSegmentId(id)) throw refuse(id);
      return stored.delete(id);
    },
  };
}

/** Wraps a catalog store so its `segments` include the managed stage segments. */
export function withManagedSegments<T extends DefinitionStore>(store: T): T {
  const segments = managed(store);
  const wrapped = new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'segments') return segments;
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  storedSegments.set(wrapped, store.segments);
  return wrapped;
}

/** Every segment (stage ones included) and the indicator model, reading the definitions once. */
export async function segmentsWithModel(store: DefinitionStore): Promise<{ segments: Segment[]; model: IndicatorModel }> {
  const [own, definitions] = await Promise.all([(storedSegments.get(store) ?? store.segments).list(), store.indicators.list()]);
  const model = compileIndicators(definitions);
  return { segments: [...own, ...stagesOf(definitions, model)], model };
}

/** Fresh, uncached: segments (stage ones included) compiled with the current indicator definitions. */
export async function loadRules(store: DefinitionStore): Promise<CompiledRules> {
  const { segments, model } = await segmentsWithModel(store);
  return compileRules(segments, model);
}
