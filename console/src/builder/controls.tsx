/** The builder's form controls: labelled fields, text, number and select inputs, checkboxes. */
import { useMemo } from 'preact/hooks';

/** A condition as the builder edits it: any type, its fields as the server's schema takes them. */
// biome-ignore lint/suspicious/noExplicitAny: the builder edits any condition's fields alike; the server's schema validates them
export type Condition = { type: string; [field: string]: any };
export type Change = (next: Condition) => void;

let ids = 0;

const useId = (prefix: string) => useMemo(() => `${prefix}-${++ids}`, []);

export function Field({ label, children, block }: { label: string; children: (id: string) => preact.ComponentChildren; block?: boolean }) {
  const id = useId('f');
  return (
    <span class={block ? 'field block' : 'field'}>
      <label for={id}>{label}</label>
      {children(id)}
    </span>
  );
}

export function TextInput({
  label,
  value,
  onChange,
  width,
  placeholder,
  type = 'text',
  suggestions,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  width?: string;
  placeholder?: string;
  type?: 'text' | 'number';
  /** Values to offer as the user types (the browser's own list), each with an optional note. */
  suggestions?: ReadonlyArray<{ value: string; note?: string }>;
}) {
  const style = width ? { width } : undefined;
  const onInput = (e: { currentTarget: HTMLInputElement }) => onChange(e.currentTarget.value);
  return (
    <Field label={label}>
      {(id) =>
        type === 'number' ? (
          <input id={id} type="number" value={value} style={style} onInput={onInput} />
        ) : (
          <>
            <input
              id={id}
              type="text"
              value={value}
              placeholder={placeholder}
              style={style}
              onInput={onInput}
              list={suggestions?.length ? `${id}-suggestions` : undefined}
            />
            {suggestions && suggestions.length > 0 && (
              <datalist id={`${id}-suggestions`}>
                {suggestions.map((s) => (
                  <option value={s.value} label={s.note} />
                ))}
              </datalist>
            )}
          </>
        )
      }
    </Field>
  );
}

export function Select({
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

export function Checkbox({ label, checked, onChange }: { label: string; checked: boolean; onChange: (checked: boolean) => void }) {
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

export function CaseToggle({
  value,
  onChange,
}: {
  value: { operator: string; value?: unknown; caseSensitive?: boolean };
  onChange: (caseSensitive: boolean) => void;
}) {
  if (!comparesText(value.operator, value.value)) return null;
  return <Checkbox label="Exact case" checked={value.caseSensitive === true} onChange={onChange} />;
}

export const numberOr = (text: string, fallback: number) => (text.trim() === '' || Number.isNaN(Number(text)) ? fallback : Number(text));

export const without = <T extends object>(c: T, field: string): T => {
  const { [field]: _, ...rest } = c as Record<string, unknown>;
  return rest as T;
};
