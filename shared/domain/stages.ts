/**
 * Stage indicators (lifecycle, intent) as segments Prisme manages: one per stage,
 * so a change of stage is a membership transition like any other: published on
 * the bus, counted per day, in the migration matrix, listable and exportable.
 * Their revision follows the indicator definitions. The floor stages (cold prospect, no intent)
 * have no segment: nearly every anonymous visitor is in them, and a membership costs writes (the
 * item, the day's counters, the outbox) for each; a segment on `lifecycle_stage` can still ask. Pure.
 */

import { INTENT_STAGES, LIFECYCLE_STAGES } from './indicator-settings';
import { type IndicatorModel, type STAGE_INDICATORS, stageSegmentId } from './indicators';
import { CONDITION_LANGUAGE_VERSION, type Segment } from './segment-definition';

const label = (value: string) => value.replaceAll('_', ' ');
const MANAGED_LIFECYCLE = LIFECYCLE_STAGES.filter((s) => s !== 'cold_prospect');
const MANAGED_INTENT = INTENT_STAGES.filter((s) => s !== 'none');

export function stageSegments(model: IndicatorModel, updatedAt = '2026-01-01T00:00:00.000Z'): Segment[] {
  const stages = { lifecycle_stage: MANAGED_LIFECYCLE, intent_stage: MANAGED_INTENT };
  return (Object.keys(stages) as (keyof typeof STAGE_INDICATORS)[]).flatMap((indicator) =>
    stages[indicator].map(
      (value): Segment => ({
        id: stageSegmentId(indicator, value),
        name: `${indicator === 'lifecycle_stage' ? 'Lifecycle' : 'Intent'}: ${label(value)}`,
        description: `Profiles whose ${label(indicator)} is ${value}. Managed by Prisme from the indicator definitions (GET /v1/indicators).`,
        condition: { type: 'indicator', indicator, operator: 'eq', value },
        managedBy: indicator,
        revision: model.revision,
        languageVersion: CONDITION_LANGUAGE_VERSION,
        status: 'ready',
        createdAt: '2026-01-01T00:00:00.000Z',
        updatedAt,
      }),
    ),
  );
}

const stageIds = new Set([
  ...MANAGED_LIFECYCLE.map((v) => stageSegmentId('lifecycle_stage', v)),
  ...MANAGED_INTENT.map((v) => stageSegmentId('intent_stage', v)),
]);
export const isStageSegmentId = (id: string): boolean => stageIds.has(id);
