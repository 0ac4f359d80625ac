/** The fields of an event condition: event and channel, how often, the window, property filters and figures. */
import { useEffect, useState } from 'preact/hooks';
import { formatNumber } from '../components';
import {
  AGGREGATE_FUNCTIONS,
  CHANNELS,
  COMPARISON_OPERATORS,
  COUNT_OPERATORS,
  closestName,
  OPERATOR_LABELS,
  parseValue,
  shortDate,
  showValue,
  takesNoValue,
} from '../language';
import { type SeenEvent, useSeen } from '../seen';
import { CaseToggle, type Change, Checkbox, type Condition, numberOr, Select, TextInput, without } from './controls';

export function Comparison({
  operator,
  value,
  onChange,
  valueLabel = 'Value',
  samples,
}: {
  operator: string;
  value: unknown;
  onChange: (operator: string, value: unknown) => void;
  valueLabel?: string;
  /** Values seen, offered as the user types. */
  samples?: readonly string[];
}) {
  const [text, setText] = useState(showValue(value, operator));
  useEffect(() => setText(showValue(value, operator)), [JSON.stringify(value), operator]);
  return (
    <>
      <Select
        label="Operator"
        value={operator}
        options={COMPARISON_OPERATORS.map((o) => [o, OPERATOR_LABELS[o] ?? o])}
        onChange={(o) => onChange(o, takesNoValue(o) ? undefined : parseValue(text, o))}
      />
      {!takesNoValue(operator) && (
        <TextInput
          label={valueLabel}
          value={text}
          suggestions={samples?.map((sample) => ({ value: sample }))}
          onChange={(t) => {
            setText(t);
            onChange(operator, parseValue(t, operator));
          }}
        />
      )}
    </>
  );
}

function Filters({
  filters,
  onChange,
  seen,
}: {
  filters: Array<{ property: string; operator: string; value?: unknown; caseSensitive?: boolean }>;
  onChange: (next: typeof filters) => void;
  /** The event as seen: its property keys and a few of their values. */
  seen: SeenEvent | undefined;
}) {
  return (
    <div class="filters">
      {filters.map((f, i) => (
        <div class="row">
          <span class="muted">where</span>
          <TextInput
            label="Property"
            value={f.property}
            suggestions={seen?.properties.map(({ key }) => ({ value: key }))}
            onChange={(property) => onChange(filters.map((g, j) => (j === i ? { ...g, property } : g)))}
          />
          <Comparison
            operator={f.operator}
            value={f.value}
            samples={seen?.properties.find((p) => p.key === f.property)?.samples}
            onChange={(operator, value) =>
              onChange(
                filters.map((g, j) =>
                  j === i
                    ? {
                        property: g.property,
                        operator,
                        ...(value !== undefined && { value }),
                        ...(g.caseSensitive && { caseSensitive: true }),
                      }
                    : g,
                ),
              )
            }
          />
          <CaseToggle
            value={f}
            onChange={(exact) =>
              onChange(filters.map((g, j) => (j === i ? (exact ? { ...g, caseSensitive: true } : without(g, 'caseSensitive')) : g)))
            }
          />
          <button
            type="button"
            class="link"
            aria-label={`Remove filter on ${f.property || 'property'}`}
            onClick={() => onChange(filters.filter((_, j) => j !== i))}
          >
            Remove
          </button>
        </div>
      ))}
      <button type="button" class="link" onClick={() => onChange([...filters, { property: 'category', operator: 'eq', value: '' }])}>
        + property filter
      </button>
    </div>
  );
}

/** Under an event name nothing was seen under: what was probably meant, or that it will count once it comes. */
function UnseenEventHint({ name, seen, onPick }: { name: string; seen: readonly SeenEvent[]; onPick: (name: string) => void }) {
  if (seen.length === 0 || seen.some((e) => e.name === name)) return null;
  const meant = closestName(
    name,
    seen.map((e) => e.name),
  );
  return (
    <p class="hint" data-testid="event-hint">
      No event named “{name}” has been seen yet
      {meant ? (
        <>
          . Did you mean{' '}
          <button type="button" class="link" onClick={() => onPick(meant)}>
            {meant}
          </button>
          ?
        </>
      ) : (
        ': the segment counts it once it comes.'
      )}
    </p>
  );
}

export function EventFields({ value, onChange }: { value: Condition; onChange: Change }) {
  const channel = Array.isArray(value.channel) ? value.channel[0] : value.channel;
  const seen = useSeen();
  const seenEvent = seen.events.find((e) => e.name === value.event);
  return (
    <>
      <div class="row">
        <TextInput
          label="Event"
          placeholder="any event"
          value={value.event ?? ''}
          suggestions={seen.events.map((e) => ({ value: e.name, note: `${formatNumber(e.count)} seen, last ${shortDate(e.lastSeen)}` }))}
          onChange={(event) => onChange(event.trim() === '' ? without(value, 'event') : { ...value, event })}
        />
        <Select
          label="Channel"
          value={channel ?? ''}
          options={[['', 'any channel'], ...CHANNELS.map((c) => [c, c] as [string, string])]}
          onChange={(c) => onChange(c ? { ...value, channel: c } : without(value, 'channel'))}
        />
        <Select
          label="How often"
          value={value.count?.operator ?? ''}
          options={[['', 'at least once'], ...COUNT_OPERATORS.map((o) => [o, `${OPERATOR_LABELS[o]} n times`] as [string, string])]}
          onChange={(o) => onChange(o ? { ...value, count: { operator: o, value: value.count?.value ?? 1 } } : without(value, 'count'))}
        />
        {value.count && (
          <TextInput
            label="Times"
            type="number"
            width="5em"
            value={String(value.count.value)}
            onChange={(t) => onChange({ ...value, count: { ...value.count, value: numberOr(t, 1) } })}
          />
        )}
        <TextInput
          label="Within days"
          type="number"
          width="6em"
          value={value.within?.days === undefined ? '' : String(value.within.days)}
          onChange={(t) =>
            onChange(
              t.trim() === ''
                ? without(value, 'within')
                : { ...value, within: { days: numberOr(t, 30), ...(value.within?.calendar && { calendar: true }) } },
            )
          }
        />
        {value.within?.days !== undefined && (
          <Checkbox
            label="Calendar days (today and the days before)"
            checked={value.within.calendar === true}
            onChange={(calendar) =>
              onChange({ ...value, within: calendar ? { ...value.within, calendar: true } : without(value.within, 'calendar') })
            }
          />
        )}
      </div>
      {value.event && <UnseenEventHint name={value.event} seen={seen.events} onPick={(event) => onChange({ ...value, event })} />}
      <Filters
        filters={value.where ?? []}
        seen={seenEvent}
        onChange={(where) => onChange(where.length > 0 ? { ...value, where } : without(value, 'where'))}
      />
      <div class="row">
        <Select
          label="Figure"
          value={value.aggregate?.fn ?? ''}
          options={[['', 'none'], ...AGGREGATE_FUNCTIONS.map((f) => [f, `${f} of a property`] as [string, string])]}
          onChange={(fn) =>
            onChange(
              fn
                ? {
                    ...value,
                    aggregate: {
                      fn,
                      property: value.aggregate?.property ?? 'revenue',
                      operator: value.aggregate?.operator ?? 'gte',
                      value: value.aggregate?.value ?? 100,
                    },
                  }
                : without(value, 'aggregate'),
            )
          }
        />
        {value.aggregate && (
          <>
            <TextInput
              label="Of property"
              value={value.aggregate.property}
              onChange={(property) => onChange({ ...value, aggregate: { ...value.aggregate, property } })}
            />
            <Select
              label="Compared"
              value={value.aggregate.operator}
              options={COUNT_OPERATORS.map((o) => [o, OPERATOR_LABELS[o] ?? o] as [string, string])}
              onChange={(operator) => onChange({ ...value, aggregate: { ...value.aggregate, operator } })}
            />
            <TextInput
              label="To"
              type="number"
              width="7em"
              value={String(value.aggregate.value)}
              onChange={(t) => onChange({ ...value, aggregate: { ...value.aggregate, value: numberOr(t, 0) } })}
            />
          </>
        )}
      </div>
    </>
  );
}
