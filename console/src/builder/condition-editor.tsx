/** One condition of the tree with its controls, by type; groups (all, any, not) nest editors of their own. */

import { formatNumber } from '../components';
import { useSeen } from '../seen';
import { CaseToggle, type Change, type Condition, numberOr, Select, TextInput, without } from './controls';
import { Comparison, EventFields } from './event-fields';
import { useProblemsAt } from './problems';

export const STARTERS: Record<string, () => Condition> = {
  event: () => ({ type: 'event', event: 'Order Completed', within: { days: 30 } }),
  trait: () => ({ type: 'trait', trait: 'tier', operator: 'eq', value: 'vip' }),
  group: () => ({ type: 'group', trait: 'employees', operator: 'gt', value: 50 }),
  and: () => ({ type: 'and', conditions: [STARTERS.event!()] }),
  or: () => ({ type: 'or', conditions: [STARTERS.event!()] }),
  not: () => ({ type: 'not', condition: STARTERS.event!() }),
  segment: () => ({ type: 'segment', segment: '' }),
  indicator: () => ({ type: 'indicator', indicator: 'engagement_score', operator: 'gte', value: 50 }),
  sequence: () => ({ type: 'sequence', steps: [{ event: 'Product Viewed' }, { event: 'Order Completed' }], within: { hours: 24 } }),
};

const TYPE_LABELS: Record<string, string> = {
  event: 'Performed an event',
  trait: 'Trait',
  group: "Trait of the person's company (group)",
  and: 'All of',
  or: 'Any of',
  not: 'Not',
  segment: 'In segment',
  indicator: 'Indicator',
  sequence: 'Sequence',
};

/** `place` names the node for assistive technology: "Condition", "Condition 2", "Condition 2.1", ... */
export function ConditionEditor({
  value,
  onChange,
  onRemove,
  segments,
  indicators,
  place = '',
  path = 'condition',
}: {
  value: Condition;
  onChange: Change;
  onRemove?: () => void;
  segments: string[];
  indicators: string[];
  place?: string;
  /** Where this condition is in the body the server checks, to show its problems here. */
  path?: string;
}) {
  const known = value.type in STARTERS;
  const seen = useSeen();
  const problems = useProblemsAt(path);
  const child = (c: Condition, change: Change, remove?: () => void, at = '', childPath = '') => (
    <ConditionEditor
      value={c}
      onChange={change}
      onRemove={remove}
      segments={segments}
      indicators={indicators}
      place={place ? `${place}.${at || '1'}` : at || '1'}
      path={`${path}.${childPath}`}
    />
  );
  return (
    <fieldset class={`condition condition-${value.type}${problems.length > 0 ? ' invalid' : ''}`} aria-invalid={problems.length > 0}>
      <legend>
        <Select
          label={place ? `Condition ${place} type` : 'Condition type'}
          value={known ? value.type : ''}
          options={[
            ...(known ? [] : [['', value.type] as [string, string]]),
            ...Object.keys(STARTERS).map((t) => [t, TYPE_LABELS[t] ?? t] as [string, string]),
          ]}
          onChange={(t) => t && onChange(STARTERS[t]!())}
        />
        {onRemove && (
          <button type="button" class="link" aria-label={`Remove condition ${place}`} onClick={onRemove}>
            Remove
          </button>
        )}
      </legend>
      {(value.type === 'and' || value.type === 'or') && (
        <>
          {(value.conditions as Condition[]).map((c, i) =>
            child(
              c,
              (next) => onChange({ ...value, conditions: value.conditions.map((d: Condition, j: number) => (j === i ? next : d)) }),
              value.conditions.length > 1
                ? () => onChange({ ...value, conditions: value.conditions.filter((_: Condition, j: number) => j !== i) })
                : undefined,
              String(i + 1),
              `conditions.${i}`,
            ),
          )}
          <button type="button" class="link" onClick={() => onChange({ ...value, conditions: [...value.conditions, STARTERS.event!()] })}>
            + condition
          </button>
        </>
      )}
      {problems.length > 0 && (
        <ul class="field-problems" role="alert" aria-label={place ? `Problems of condition ${place}` : 'Problems of the condition'}>
          {problems.map((p) => (
            <li>
              {p.field ? <code>{p.field}</code> : null} {p.message}
            </li>
          ))}
        </ul>
      )}
      {value.type === 'not' && child(value.condition, (condition) => onChange({ ...value, condition }), undefined, '', 'condition')}
      {value.type === 'event' && <EventFields value={value} onChange={onChange} />}
      {(value.type === 'trait' || value.type === 'group') && (
        <div class="row">
          <TextInput
            label={value.type === 'group' ? 'Group trait' : 'Trait'}
            value={value.trait ?? ''}
            suggestions={
              value.type === 'trait' ? seen.traits.map((t) => ({ value: t.name, note: `${formatNumber(t.count)} seen` })) : undefined
            }
            onChange={(trait) => onChange({ ...value, trait })}
          />
          <Comparison
            operator={value.operator}
            value={value.value}
            samples={value.type === 'trait' ? seen.traits.find((t) => t.name === value.trait)?.samples : undefined}
            onChange={(operator, v) =>
              onChange({
                type: value.type,
                trait: value.trait,
                operator,
                ...(v !== undefined && { value: v }),
                ...(value.caseSensitive && { caseSensitive: true }),
              })
            }
          />
          <CaseToggle
            value={{ operator: value.operator, value: value.value, caseSensitive: value.caseSensitive }}
            onChange={(exact) => onChange(exact ? { ...value, caseSensitive: true } : without(value, 'caseSensitive'))}
          />
        </div>
      )}
      {value.type === 'segment' && (
        <div class="row">
          <Select
            label="Segment"
            value={value.segment}
            options={[['', 'choose…'], ...segments.map((s) => [s, s] as [string, string])]}
            onChange={(segment) => onChange({ ...value, segment })}
          />
        </div>
      )}
      {value.type === 'indicator' && (
        <div class="row">
          <Select
            label="Indicator"
            value={value.indicator}
            options={indicators.length > 0 ? indicators : [value.indicator]}
            onChange={(indicator) => onChange({ ...value, indicator })}
          />
          <Comparison
            operator={value.operator}
            value={value.value}
            onChange={(operator, v) => onChange({ ...without(value, 'value'), operator, ...(v !== undefined && { value: v }) })}
          />
        </div>
      )}
      {value.type === 'sequence' && (
        <>
          {(value.steps as Array<{ event: string; channel?: string }>).map((step, i) => (
            <div class="row">
              <span class="muted">{i === 0 ? 'first' : 'then'}</span>
              <TextInput
                label={`Step ${i + 1} event`}
                value={step.event}
                onChange={(event) =>
                  onChange({ ...value, steps: value.steps.map((s: object, j: number) => (j === i ? { ...s, event } : s)) })
                }
              />
              {value.steps.length > 2 && (
                <button
                  type="button"
                  class="link"
                  onClick={() => onChange({ ...value, steps: value.steps.filter((_: object, j: number) => j !== i) })}
                >
                  Remove
                </button>
              )}
            </div>
          ))}
          <div class="row">
            {value.steps.length < 5 && (
              <button
                type="button"
                class="link"
                onClick={() => onChange({ ...value, steps: [...value.steps, { event: 'Order Completed' }] })}
              >
                + step
              </button>
            )}
            <TextInput
              label="Each within hours"
              type="number"
              width="6em"
              value={String(value.within?.hours ?? '')}
              onChange={(t) => onChange({ ...value, within: { hours: numberOr(t, 24) } })}
            />
          </div>
        </>
      )}
      {!known && <p class="muted">This part is edited in the JSON below.</p>}
    </fieldset>
  );
}
