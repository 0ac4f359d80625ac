/**
 * The segment builder: conditions composed with controls or typed as JSON (each follows the other),
 * a live size and a sample of matching profiles as you edit, then save. Every check is the API's own
 * (preview answers 400 with the field at fault), so the builder never disagrees with the server.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { get, post, put } from '../api';
import { ErrorBox, formatNumber, useLoad } from '../components';
import {
  AGGREGATE_FUNCTIONS,
  CHANNELS,
  COMPARISON_OPERATORS,
  COUNT_OPERATORS,
  OPERATOR_LABELS,
  parseValue,
  showValue,
  takesNoValue,
} from '../language';

// biome-ignore lint/suspicious/noExplicitAny: the builder edits any condition's fields alike; the server's schema validates them
type Condition = { type: string; [field: string]: any };
type Change = (next: Condition) => void;

const STARTERS: Record<string, () => Condition> = {
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

let ids = 0;
const useId = (prefix: string) => useMemo(() => `${prefix}-${++ids}`, []);

function Field({ label, children, block }: { label: string; children: (id: string) => preact.ComponentChildren; block?: boolean }) {
  const id = useId('f');
  return (
    <span class={block ? 'field block' : 'field'}>
      <label for={id}>{label}</label>
      {children(id)}
    </span>
  );
}

function TextInput({
  label,
  value,
  onChange,
  width,
  placeholder,
  type = 'text',
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  width?: string;
  placeholder?: string;
  type?: 'text' | 'number';
}) {
  const style = width ? { width } : undefined;
  const onInput = (e: { currentTarget: HTMLInputElement }) => onChange(e.currentTarget.value);
  return (
    <Field label={label}>
      {(id) =>
        type === 'number' ? (
          <input id={id} type="number" value={value} style={style} onInput={onInput} />
        ) : (
          <input id={id} type="text" value={value} placeholder={placeholder} style={style} onInput={onInput} />
        )
      }
    </Field>
  );
}

function Select({
  label,
  value,
  options,
  onChange,
}: {
  label: string;
  value: string;
  options: ReadonlyArray<string | [string, string]>;
  onChange: (v: string) => void;
}) {
  return (
    <Field label={label}>
      {(id) => (
        <select id={id} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
          {options.map((o) => (Array.isArray(o) ? <option value={o[0]}>{o[1]}</option> : <option value={o}>{o}</option>))}
        </select>
      )}
    </Field>
  );
}

function Checkbox({ label, checked, onChange }: { label: string; checked: boolean; onChange: (checked: boolean) => void }) {
  const id = useId('c');
  return (
    <span class="field checkbox">
      <input id={id} type="checkbox" checked={checked} onChange={(e) => onChange(e.currentTarget.checked)} />
      <label for={id}>{label}</label>
    </span>
  );
}

/** Text comparisons ignore case unless asked: the toggle shows only where case can matter. */
const comparesText = (operator: string, value: unknown) =>
  ['eq', 'neq', 'in', 'not_in', 'contains', 'starts_with', 'regex'].includes(operator) &&
  (typeof value === 'string' || (Array.isArray(value) && value.some((v) => typeof v === 'string')));

function CaseToggle({
  value,
  onChange,
}: {
  value: { operator: string; value?: unknown; caseSensitive?: boolean };
  onChange: (caseSensitive: boolean) => void;
}) {
  if (!comparesText(value.operator, value.value)) return null;
  return <Checkbox label="Exact case" checked={value.caseSensitive === true} onChange={onChange} />;
}

const numberOr = (text: string, fallback: number) => (text.trim() === '' || Number.isNaN(Number(text)) ? fallback : Number(text));
const without = <T extends object>(c: T, field: string): T => {
  const { [field]: _, ...rest } = c as Record<string, unknown>;
  return rest as T;
};

function Comparison({
  operator,
  value,
  onChange,
  valueLabel = 'Value',
}: {
  operator: string;
  value: unknown;
  onChange: (operator: string, value: unknown) => void;
  valueLabel?: string;
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
}: {
  filters: Array<{ property: string; operator: string; value?: unknown; caseSensitive?: boolean }>;
  onChange: (next: typeof filters) => void;
}) {
  return (
    <div class="filters">
      {filters.map((f, i) => (
        <div class="row">
          <span class="muted">where</span>
          <TextInput
            label="Property"
            value={f.property}
            onChange={(property) => onChange(filters.map((g, j) => (j === i ? { ...g, property } : g)))}
          />
          <Comparison
            operator={f.operator}
            value={f.value}
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

function EventFields({ value, onChange }: { value: Condition; onChange: Change }) {
  const channel = Array.isArray(value.channel) ? value.channel[0] : value.channel;
  return (
    <>
      <div class="row">
        <TextInput
          label="Event"
          placeholder="any event"
          value={value.event ?? ''}
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
      <Filters
        filters={value.where ?? []}
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

/** `place` names the node for assistive technology: "Condition", "Condition 2", "Condition 2.1", ... */
function ConditionEditor({
  value,
  onChange,
  onRemove,
  segments,
  indicators,
  place = '',
}: {
  value: Condition;
  onChange: Change;
  onRemove?: () => void;
  segments: string[];
  indicators: string[];
  place?: string;
}) {
  const known = value.type in STARTERS;
  const child = (c: Condition, change: Change, remove?: () => void, at = '') => (
    <ConditionEditor
      value={c}
      onChange={change}
      onRemove={remove}
      segments={segments}
      indicators={indicators}
      place={place ? `${place}.${at || '1'}` : at || '1'}
    />
  );
  return (
    <fieldset class={`condition condition-${value.type}`}>
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
            ),
          )}
          <button type="button" class="link" onClick={() => onChange({ ...value, conditions: [...value.conditions, STARTERS.event!()] })}>
            + condition
          </button>
        </>
      )}
      {value.type === 'not' && child(value.condition, (condition) => onChange({ ...value, condition }))}
      {value.type === 'event' && <EventFields value={value} onChange={onChange} />}
      {(value.type === 'trait' || value.type === 'group') && (
        <div class="row">
          <TextInput
            label={value.type === 'group' ? 'Group trait' : 'Trait'}
            value={value.trait ?? ''}
            onChange={(trait) => onChange({ ...value, trait })}
          />
          <Comparison
            operator={value.operator}
            value={value.value}
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

interface Preview {
  size: number;
  complete: boolean;
  scanned: number;
  sample: Array<{ profileId: string; userId?: string; email?: string }>;
  durationMs: number;
  warning?: string;
}

/**
 * Size and sample of the condition as it is now, asked again 400 ms after the last edit: first a scan of
 * about a second (a lower bound on a large store), then, if that was not all of it, the full count.
 */
function usePreview(condition: Condition) {
  const [state, setState] = useState<{ preview?: Preview; error?: Error; busy: boolean }>({ busy: false });
  const key = JSON.stringify(condition);
  useEffect(() => {
    let current = true;
    setState((s) => ({ ...s, busy: true }));
    const timer = setTimeout(async () => {
      try {
        const quick = await post<Preview>('/v1/segments/preview', { condition, sampleSize: 10, budgetMs: 1000 });
        if (!current) return;
        setState({ preview: quick, busy: !quick.complete });
        if (quick.complete) return;
        const full = await post<Preview>('/v1/segments/preview', { condition, sampleSize: 10 });
        if (current) setState({ preview: full, busy: false });
      } catch (error) {
        if (current) setState({ error: error as Error, busy: false });
      }
    }, 400);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [key]);
  return state;
}

export function SegmentEditor({ segmentId }: { segmentId?: string }) {
  const existing = useLoad(
    () => (segmentId ? get(`/v1/segments/${encodeURIComponent(segmentId)}`) : Promise.resolve(undefined)),
    [segmentId],
  );
  const catalog = useLoad(() => Promise.all([get('/v1/segments'), get('/v1/indicators')]), []);
  const [id, setId] = useState(segmentId ?? '');
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [condition, setCondition] = useState<Condition>(STARTERS.event!());
  const [json, setJson] = useState(JSON.stringify(condition, null, 2));
  const [jsonError, setJsonError] = useState<string>();
  const [saveError, setSaveError] = useState<Error>();
  const [saving, setSaving] = useState(false);

  useEffect(() => {
    const segment = existing.data as { name: string; description?: string; condition: Condition } | undefined;
    if (!segment) return;
    setName(segment.name);
    setDescription(segment.description ?? '');
    update(segment.condition);
  }, [existing.data]);

  const update = (next: Condition) => {
    setCondition(next);
    setJson(JSON.stringify(next, null, 2));
    setJsonError(undefined);
  };
  const preview = usePreview(condition);
  const [segments, indicators] = (catalog.data ?? [{ segments: [] }, { indicators: [] }]) as [
    { segments: Array<{ id: string }> },
    { indicators: Array<{ id: string }> },
  ];

  const save = async (e: Event) => {
    e.preventDefault();
    setSaving(true);
    setSaveError(undefined);
    try {
      await put(`/v1/segments/${encodeURIComponent(id)}`, { name, ...(description && { description }), condition });
      location.hash = `#/segments/${encodeURIComponent(id)}`;
    } catch (error) {
      setSaveError(error as Error);
    } finally {
      setSaving(false);
    }
  };

  return (
    <form class="builder" onSubmit={save}>
      <h1>{segmentId ? `Edit ${segmentId}` : 'New segment'}</h1>
      <div class="row">
        <TextInput label="Id" value={id} onChange={setId} />
        <TextInput label="Name" value={name} onChange={setName} width="22em" />
        <TextInput label="Description" value={description} onChange={setDescription} width="28em" />
      </div>
      <div class="builder-grid">
        <section aria-label="Condition">
          <ConditionEditor
            value={condition}
            onChange={update}
            segments={segments.segments.map((s) => s.id).filter((s) => s !== segmentId)}
            indicators={indicators.indicators.map((i) => i.id)}
          />
          <Field label="Condition as JSON" block>
            {(fieldId) => (
              <textarea
                id={fieldId}
                class="json-editor"
                rows={14}
                spellcheck={false}
                value={json}
                onInput={(e) => {
                  const text = e.currentTarget.value;
                  setJson(text);
                  try {
                    const parsed = JSON.parse(text) as Condition;
                    if (!parsed || typeof parsed.type !== 'string') throw new Error('a condition is an object with a "type"');
                    setCondition(parsed);
                    setJsonError(undefined);
                  } catch (error) {
                    setJsonError((error as Error).message);
                  }
                }}
              />
            )}
          </Field>
          {jsonError && (
            <p class="error" role="alert">
              JSON: {jsonError}
            </p>
          )}
        </section>
        <aside class="preview" aria-live="polite" aria-label="Preview">
          <h2>Preview</h2>
          <ErrorBox error={preview.error} />
          {preview.preview && !preview.error && (
            <>
              <p class="size" data-testid="preview-size">
                {formatNumber(preview.preview.size)} {preview.preview.complete ? '' : '+'}
                <span class="muted">
                  {' '}
                  profiles{preview.preview.complete ? '' : ` in the first ${formatNumber(preview.preview.scanned)} scanned`}
                </span>
              </p>
              {preview.preview.warning && <p class="warning">{preview.preview.warning}</p>}
              <ul class="sample">
                {preview.preview.sample.map((p) => (
                  <li>
                    <a href={`#/profiles/${encodeURIComponent(p.profileId)}`}>{p.email ?? p.userId ?? p.profileId}</a>
                  </li>
                ))}
              </ul>
            </>
          )}
          {preview.busy && <p class="muted">{preview.preview && !preview.preview.complete ? 'Counting every profile…' : 'Counting…'}</p>}
        </aside>
      </div>
      <ErrorBox error={saveError} />
      <button type="submit" disabled={saving || !id || !name || jsonError !== undefined}>
        {saving ? 'Saving…' : 'Save segment'}
      </button>
    </form>
  );
}
