/**
 * The segment builder: conditions composed with controls or typed as JSON (each follows the other),
 * a live size and a sample of matching profiles as you edit, then save. Every check is the API's own
 * (preview answers 400 with the field at fault), so the builder never disagrees with the server.
 */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, get, post, put } from '../api';
import { ConditionEditor, STARTERS } from '../builder/condition-editor';
import { type Condition, Field, TextInput } from '../builder/controls';
import { ProblemsContext } from '../builder/problems';
import { ErrorBox, formatNumber, useLoad } from '../components';

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
  // The server's verdict on the condition: each problem is shown where it is, and the segment cannot be saved.
  const problems = preview.error instanceof ApiError && preview.error.status === 400 ? preview.error.details : [];
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
          <ProblemsContext.Provider value={problems}>
            <ConditionEditor
              value={condition}
              onChange={update}
              segments={segments.segments.map((s) => s.id).filter((s) => s !== segmentId)}
              indicators={indicators.indicators.map((i) => i.id)}
            />
          </ProblemsContext.Provider>
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
      {problems.length > 0 && <p class="muted">Fix the fields marked in the condition to save it.</p>}
      <button type="submit" disabled={saving || !id || !name || jsonError !== undefined || problems.length > 0}>
        {saving ? 'Saving…' : 'Save segment'}
      </button>
    </form>
  );
}
