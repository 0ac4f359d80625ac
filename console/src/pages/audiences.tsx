/**
 * Audiences: the list; an audience's page with its preview against the last approval, approval, snapshot
 * runs (held ones to review) and KPIs; with an A/B/n experiment, each variant's size, lists and results.
 */
import { useState } from 'preact/hooks';
import { get, post, put } from '../api';
import { ActionForm, ErrorBox, formatDate, formatNumber, Loading, Status, underWay, useLoad, useRefreshWhile } from '../components';

interface AudienceRow {
  id: string;
  name: string;
  segmentId: string;
  status: string;
  format: string;
  preset?: string;
  consentChannel?: string;
  approval?: { by: string; at: string; size: number };
  experiment?: Experiment;
}

interface Experiment {
  variants: Array<{ name: string; percent: number; holdout?: boolean }>;
  control?: string;
}

/** A variant as the form edits it: the percent as typed, checked by the API. */
interface VariantDraft {
  name: string;
  percent: string;
  holdout: boolean;
}

/** A name no other variant has: a, b, c... */
const nextVariantName = (variants: readonly VariantDraft[]) =>
  [...'abcdefghijklmnopqrstuvwxyz'].find((letter) => !variants.some((v) => v.name === letter)) ?? '';

/**
 * The experiment part of the form: variants with their percent of the members and whether they are held
 * out, and the control the others are compared with.
 */
function ExperimentFields({
  variants,
  control,
  onChange,
}: {
  variants: VariantDraft[];
  control: string;
  onChange: (variants: VariantDraft[], control: string) => void;
}) {
  const change = (i: number, patch: Partial<VariantDraft>) =>
    onChange(
      variants.map((v, j) => (j === i ? { ...v, ...patch } : v)),
      control,
    );
  const total = variants.reduce((sum, v) => sum + (Number(v.percent) || 0), 0);
  const names = variants.map((v) => v.name.trim()).filter(Boolean);
  return (
    <fieldset class="experiment">
      <legend>A/B/n experiment</legend>
      <p class="hint">
        Members split into variants by a stable hash, each exported to a list of its own; a holdout variant is kept out of the export and
        recorded, as the control group (it replaces Holdout %). Without variants, the audience is one list.
      </p>
      {variants.map((v, i) => (
        <div class="row">
          <span class="field">
            <label for={`aud-variant-${i}-name`}>
              Variant {i + 1}
              <span class="visually-hidden"> name</span>
            </label>
            <input
              id={`aud-variant-${i}-name`}
              value={v.name}
              required
              pattern="[a-z0-9][a-z0-9_\-]{0,31}"
              title="1-32 of a-z, 0-9, _ and -, starting with a letter or digit"
              style={{ width: '9em' }}
              onInput={(e) => change(i, { name: e.currentTarget.value })}
            />
          </span>
          <span class="field">
            <label for={`aud-variant-${i}-percent`}>
              <span class="visually-hidden">Variant {i + 1} </span>%
            </label>
            <input
              id={`aud-variant-${i}-percent`}
              type="number"
              min={1}
              max={99}
              required
              value={v.percent}
              style={{ width: '5em' }}
              onInput={(e) => change(i, { percent: e.currentTarget.value })}
            />
          </span>
          <span class="field checkbox">
            <input
              id={`aud-variant-${i}-holdout`}
              type="checkbox"
              checked={v.holdout}
              onChange={(e) => change(i, { holdout: e.currentTarget.checked })}
            />
            <label for={`aud-variant-${i}-holdout`}>
              <span class="visually-hidden">Variant {i + 1} </span>holdout
            </label>
          </span>
          <button
            type="button"
            class="link"
            aria-label={`Remove variant ${i + 1}`}
            onClick={() =>
              onChange(
                variants.filter((_, j) => j !== i),
                control,
              )
            }
          >
            Remove
          </button>
        </div>
      ))}
      <div class="row">
        <button
          type="button"
          class="link"
          onClick={() => onChange([...variants, { name: nextVariantName(variants), percent: '', holdout: false }], control)}
        >
          + variant
        </button>
        {variants.length > 0 && (
          <>
            <span class="field">
              <label for="aud-control">Control</label>
              <select id="aud-control" value={control} onChange={(e) => onChange(variants, e.currentTarget.value)}>
                <option value="">holdout, or the first</option>
                {names.map((name) => (
                  <option value={name}>{name}</option>
                ))}
              </select>
            </span>
            <span class={total === 100 ? 'hint' : 'hint warning'} aria-live="polite">
              {total} % of 100 %{variants.length < 2 && ', two variants at least'}
            </span>
          </>
        )}
      </div>
    </fieldset>
  );
}

const FORMATS = [
  ['csv', 'CSV (gzip)'],
  ['jsonl', 'JSON Lines (gzip)'],
  ['parquet', 'Parquet'],
] as const;
const PRESETS = [
  ['', 'none'],
  ['braze', 'Braze'],
  ['sfmc', 'Salesforce Marketing Cloud'],
  ['iterable', 'Iterable'],
  ['brevo', 'Brevo'],
] as const;

/** Every setting an audience has, with the API's defaults filled in. */
function NewAudience({ onCreated }: { onCreated: () => void }) {
  const segments = useLoad(() => get<{ segments: Array<{ id: string; name: string }> }>('/v1/segments'));
  const [form, setForm] = useState({
    id: '',
    name: '',
    segmentId: '',
    consentChannel: '',
    fields: 'userId, email',
    format: 'csv',
    preset: '',
    schedule: '',
    minSize: '50',
    holdoutPercent: '0',
  });
  const [variants, setVariants] = useState<VariantDraft[]>([]);
  const [control, setControl] = useState('');
  const set = (field: keyof typeof form) => (e: Event) => setForm({ ...form, [field]: (e.currentTarget as HTMLInputElement).value });
  const input = (field: keyof typeof form, label: string, extra: Record<string, unknown> = {}) => (
    <span class="field">
      <label for={`aud-${field}`}>{label}</label>
      <input id={`aud-${field}`} value={form[field]} onInput={set(field)} {...extra} />
    </span>
  );
  const select = (field: keyof typeof form, label: string, options: ReadonlyArray<readonly [string, string]>, required = false) => (
    <span class="field">
      <label for={`aud-${field}`}>{label}</label>
      <select id={`aud-${field}`} value={form[field]} onChange={set(field)} required={required}>
        {options.map(([value, text]) => (
          <option value={value}>{text}</option>
        ))}
      </select>
    </span>
  );
  return (
    <details>
      <summary>New audience</summary>
      <ActionForm
        action={async () => {
          const experiment: Experiment | undefined =
            variants.length === 0
              ? undefined
              : {
                  variants: variants.map((v) => ({ name: v.name.trim(), percent: Number(v.percent), ...(v.holdout && { holdout: true }) })),
                  // A control no variant has any more (renamed, removed) falls back to the default.
                  ...(control && variants.some((v) => v.name.trim() === control) && { control }),
                };
          await put(`/v1/audiences/${encodeURIComponent(form.id)}`, {
            name: form.name,
            segmentId: form.segmentId,
            fields: form.fields
              .split(',')
              .map((f) => f.trim())
              .filter(Boolean),
            format: form.format,
            minSize: Number(form.minSize),
            // With an experiment, the control group is its holdout variant.
            holdoutPercent: experiment ? 0 : Number(form.holdoutPercent),
            ...(experiment && { experiment }),
            ...(form.preset && { preset: form.preset }),
            ...(form.schedule.trim() && { schedule: form.schedule.trim() }),
            ...(form.consentChannel && { consentChannel: form.consentChannel }),
          });
          onCreated();
        }}
      >
        {input('id', 'Id', { required: true })}
        {input('name', 'Name', { required: true })}
        {select('segmentId', 'Segment', [['', 'choose…'], ...(segments.data?.segments ?? []).map((s) => [s.id, s.name] as const)], true)}
        {select('consentChannel', 'Consent channel', [
          ['', 'none'],
          ['email', 'email'],
          ['sms', 'sms'],
          ['push', 'push'],
        ])}
        {input('fields', 'Fields (comma-separated)', { placeholder: 'userId, email, traits.firstName', size: 30 })}
        {select('format', 'Format', FORMATS)}
        {select('preset', 'ESP preset', PRESETS)}
        {input('schedule', 'Schedule (cron, UTC)', { placeholder: '0 6 * * * (manual when empty)' })}
        {input('minSize', 'Minimum size', { type: 'number', min: 1, style: { width: '6em' } })}
        {variants.length === 0 && input('holdoutPercent', 'Holdout %', { type: 'number', min: 0, max: 50, style: { width: '5em' } })}
        <ExperimentFields
          variants={variants}
          control={control}
          onChange={(next, chosen) => {
            setVariants(next);
            setControl(next.some((v) => v.name.trim() === chosen) ? chosen : '');
          }}
        />
        <button type="submit">Create draft</button>
      </ActionForm>
    </details>
  );
}

export function AudiencesPage() {
  const list = useLoad(() => get<{ audiences: AudienceRow[] }>('/v1/audiences'));
  return (
    <>
      <h1>Audiences</h1>
      <NewAudience onCreated={list.reload} />
      <Loading loaded={list}>
        {({ audiences }) =>
          audiences.length === 0 ? (
            <p class="muted">No audience yet: an audience exports a segment's members to S3 for an ESP.</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">Audience</th>
                  <th scope="col">Segment</th>
                  <th scope="col">Status</th>
                  <th scope="col">Format</th>
                  <th scope="col" class="num">
                    Approved size
                  </th>
                </tr>
              </thead>
              <tbody>
                {audiences.map((a) => (
                  <tr>
                    <td>
                      <a href={`#/audiences/${encodeURIComponent(a.id)}`}>{a.name}</a>
                    </td>
                    <td>
                      <a href={`#/segments/${encodeURIComponent(a.segmentId)}`}>{a.segmentId}</a>
                    </td>
                    <td>
                      <Status value={a.status} />
                    </td>
                    <td>
                      {a.preset ?? a.format}
                      {a.consentChannel && ` · ${a.consentChannel} consent`}
                      {a.experiment && ` · A/B/n, ${a.experiment.variants.length} variants`}
                    </td>
                    <td class="num">{formatNumber(a.approval?.size)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loading>
    </>
  );
}

interface Run {
  runId: string;
  status: string;
  startedAt: string;
  finishedAt?: string;
  progress?: Record<string, unknown> & { variants?: RunVariant[] };
  error?: string;
}

/** A variant's list in a run: its counts (only `members` when the run was held) and its ESP file. */
interface RunVariant {
  name: string;
  members: number;
  added?: number;
  removed?: number;
  espKey?: string;
}

const percent = (change: number | null) => (change === null ? '' : `${change >= 0 ? '+' : ''}${Math.round(change * 100)} %`);

interface Preview {
  members: number;
  holdout: number;
  /** With an experiment: each exported variant's members. */
  variants?: Array<{ name: string; members: number }>;
  approvedSize: number | null;
  change: number | null;
}

/** Approving is a decision: what it approves, against the last approval, and what the guard will do. */
function ApprovalConfirmation({
  preview,
  maxSizeChange,
  minSize,
  onConfirm,
  onCancel,
}: {
  preview: Preview;
  maxSizeChange: number;
  minSize: number;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const beyond = preview.change !== null && Math.abs(preview.change) > maxSizeChange;
  return (
    <div class={beyond ? 'confirm warning' : 'confirm'} role="alertdialog" aria-labelledby="confirm-title" aria-describedby="confirm-text">
      <h3 id="confirm-title">Approve {formatNumber(preview.members)} members?</h3>
      <p id="confirm-text" data-testid="approval-confirmation">
        {preview.approvedSize === null ? (
          'It was never approved: from now on, snapshots export about this many people.'
        ) : (
          <>
            The last approval was {formatNumber(preview.approvedSize)} members: this is {percent(preview.change)}
            {beyond
              ? `, more than the ±${Math.round(maxSizeChange * 100)} % guard, which holds snapshots until someone approves the new size. Approving accepts it.`
              : `, within the ±${Math.round(maxSizeChange * 100)} % guard.`}
          </>
        )}
        {preview.members < minSize && ` Under the minimum of ${formatNumber(minSize)}, snapshots stay held whatever the approval.`}
      </p>
      <div class="row">
        <button type="button" onClick={onConfirm}>
          Confirm approval
        </button>
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </div>
  );
}

export function AudiencePage({ audienceId }: { audienceId: string }) {
  const path = `/v1/audiences/${encodeURIComponent(audienceId)}`;
  const audience = useLoad(() => get<AudienceRow & { minSize: number; maxSizeChange: number; holdoutPercent: number }>(path), [audienceId]);
  const preview = useLoad(() => get<Preview>(`${path}/preview`), [audienceId]);
  const runs = useLoad(() => get<{ runs: Run[] }>(`${path}/snapshots`), [audienceId]);
  useRefreshWhile(runs, (data) => underWay(data.runs));
  const [error, setError] = useState<Error>();
  const [note, setNote] = useState<string>();
  const [confirming, setConfirming] = useState(false);
  const holdoutVariant = audience.data?.experiment?.variants.find((v) => v.holdout)?.name;
  const act = (action: () => Promise<string>) => async () => {
    setError(undefined);
    try {
      setNote(await action());
      audience.reload();
      preview.reload();
      runs.reload();
    } catch (err) {
      setError(err as Error);
    }
  };
  return (
    <Loading loaded={audience}>
      {(a) => (
        <>
          <h1>{a.name}</h1>
          <p>
            <code>{a.id}</code> · segment <a href={`#/segments/${encodeURIComponent(a.segmentId)}`}>{a.segmentId}</a> ·{' '}
            <Status value={a.status} />
            {a.approval && (
              <>
                {' '}
                · approved by {a.approval.by} on {formatDate(a.approval.at)} at {formatNumber(a.approval.size)} members
              </>
            )}
          </p>
          {a.experiment && (
            <p data-testid="audience-experiment">
              A/B/n experiment:{' '}
              {a.experiment.variants.map((v) => `${v.name} ${formatNumber(v.percent)} %${v.holdout ? ' (holdout)' : ''}`).join(', ')}
              {`; compared with ${controlOf(a.experiment)}.`}
            </p>
          )}
          <section aria-labelledby="review">
            <h2 id="review">Review</h2>
            <Loading loaded={preview}>
              {(p) => (
                <p data-testid="audience-preview">
                  Exports <strong>{formatNumber(p.members)}</strong> members now
                  {p.variants && <>, split {p.variants.map((v) => `${v.name} ${formatNumber(v.members)}`).join(' · ')}</>}
                  {p.holdout > 0 && (
                    <>
                      {' '}
                      ({formatNumber(p.holdout)} held out{holdoutVariant ? ` in variant ${holdoutVariant}` : ' as control'})
                    </>
                  )}
                  {p.approvedSize === null ? (
                    ', never approved.'
                  ) : (
                    <>
                      , against {formatNumber(p.approvedSize)} approved ({percent(p.change)}; the limit is ±
                      {Math.round(a.maxSizeChange * 100)} %).
                    </>
                  )}
                  {p.members < a.minSize && <> Under the minimum of {a.minSize}: snapshots stay held.</>}
                  {p.members >= a.minSize && p.variants?.some((v) => v.members < a.minSize) && (
                    <>
                      {' '}
                      Variant{' '}
                      {p.variants
                        .filter((v) => v.members < a.minSize)
                        .map((v) => v.name)
                        .join(', ')}{' '}
                      under the minimum of {a.minSize}: snapshots stay held.
                    </>
                  )}
                </p>
              )}
            </Loading>
            {confirming && preview.data && (
              <ApprovalConfirmation
                preview={preview.data}
                maxSizeChange={a.maxSizeChange}
                minSize={a.minSize}
                onCancel={() => setConfirming(false)}
                onConfirm={act(async () => {
                  setConfirming(false);
                  const approved = await post(`${path}/approve`, {});
                  return `Approved at ${formatNumber(approved.previewedSize)} members${approved.previousApprovedSize === null ? '' : ` (was ${formatNumber(approved.previousApprovedSize)})`}.${approved.warning ? ` ${approved.warning}` : ''}`;
                })}
              />
            )}
            <div class="row">
              <button type="button" disabled={confirming} onClick={() => setConfirming(true)}>
                Approve this size
              </button>
              <button
                type="button"
                class="secondary"
                disabled={a.status !== 'approved'}
                onClick={act(async () => {
                  const run = await post(`${path}/snapshots`);
                  return `Snapshot ${run.runId} requested.`;
                })}
              >
                Take a snapshot now
              </button>
            </div>
            {note && <p role="status">{note}</p>}
            <ErrorBox error={error} />
          </section>
          <Results path={path} latestRun={runs.data?.runs.find((r) => r.status === 'succeeded')?.runId} />
          <section aria-labelledby="runs">
            <h2 id="runs">Snapshot runs</h2>
            <Loading loaded={runs}>
              {({ runs: all }) =>
                all.length === 0 ? (
                  <p class="muted">No snapshot yet.</p>
                ) : (
                  <table>
                    <thead>
                      <tr>
                        <th scope="col">Run</th>
                        <th scope="col">Status</th>
                        <th scope="col">Started</th>
                        <th scope="col" class="num">
                          Members
                        </th>
                        <th scope="col" class="num">
                          Added
                        </th>
                        <th scope="col" class="num">
                          Removed
                        </th>
                        <th scope="col">Files</th>
                      </tr>
                    </thead>
                    <tbody>
                      {all.flatMap((r) => [
                        <tr>
                          <td>
                            <code>{r.runId}</code>
                          </td>
                          <td>
                            <Status value={r.status} />
                            {r.error && <div class={r.status === 'held' ? 'muted' : 'error'}>{r.error}</div>}
                          </td>
                          <td>{formatDate(r.startedAt)}</td>
                          <td class="num">{formatNumber(r.progress?.members as number | undefined)}</td>
                          <td class="num">{formatNumber(r.progress?.added as number | undefined)}</td>
                          <td class="num">{formatNumber(r.progress?.removed as number | undefined)}</td>
                          <td>
                            {r.progress?.espKey ? (
                              <EspLink path={`${path}/snapshots/${r.runId}/esp-url`} />
                            ) : r.progress?.manifestKey ? (
                              <code>{String(r.progress.manifestKey)}</code>
                            ) : (
                              '–'
                            )}
                          </td>
                        </tr>,
                        // With an experiment, each exported variant's list under its run.
                        ...(r.progress?.variants ?? []).map((v) => (
                          <tr class="variant-row" data-run={r.runId}>
                            <td colSpan={3}>
                              variant <strong>{v.name}</strong>
                            </td>
                            <td class="num">{formatNumber(v.members)}</td>
                            <td class="num">{formatNumber(v.added)}</td>
                            <td class="num">{formatNumber(v.removed)}</td>
                            <td>
                              {v.espKey ? (
                                <EspLink
                                  path={`${path}/snapshots/${r.runId}/esp-url?variant=${encodeURIComponent(v.name)}`}
                                  label={`Download variant ${v.name}`}
                                />
                              ) : (
                                '–'
                              )}
                            </td>
                          </tr>
                        )),
                      ])}
                    </tbody>
                  </table>
                )
              }
            </Loading>
          </section>
        </>
      )}
    </Loading>
  );
}

interface GroupConversion {
  members: number;
  converted: number;
  rate: number | null;
}

/** A group of the export (a variant, the exported members, the holdout) and, against the control, the test. */
interface VariantResult extends GroupConversion {
  name: string;
  holdout: boolean;
  control: boolean;
  interval: [number, number] | null;
  uplift?: number;
  upliftInterval?: [number, number];
  pValue?: number;
  adjustedPValue?: number;
  verdict?: 'better' | 'worse' | 'no difference' | 'too small';
  note?: string;
}

interface Conversion {
  exportedAt: string;
  complete: boolean;
  exported: GroupConversion;
  holdout: GroupConversion | null;
  uplift: number | null;
  control?: string | null;
  variants?: VariantResult[];
}

/** The variant the others are compared with: the one named, or the holdout, or the first. */
const controlOf = (experiment: Experiment) =>
  experiment.control ?? (experiment.variants.find((v) => v.holdout) ?? experiment.variants[0])?.name;

const oneDecimal = { minimumFractionDigits: 1, maximumFractionDigits: 1 };
/** A share (0-1) as a percentage, in the browser's language. */
const rate = (r: number | null | undefined) => (r == null ? '–' : `${formatNumber(r * 100, oneDecimal)} %`);
const signed = (points: number) => `${points > 0 ? '+' : ''}${formatNumber(points, oneDecimal)}`;
const pValue = (p: number | undefined) =>
  p === undefined ? '–' : p < 0.001 ? '< 0.001' : formatNumber(p, { maximumSignificantDigits: 2 });

const VERDICTS: Record<NonNullable<VariantResult['verdict']>, string> = {
  better: 'better than the control',
  worse: 'worse than the control',
  'no difference': 'no significant difference',
  'too small': 'too small to tell',
};

/** Who ordered after the latest export, against the control group held out of it, and variant by variant. */
function Results({ path, latestRun }: { path: string; latestRun?: string }) {
  const kpis = useLoad(() => get<{ conversion: Conversion | null }>(`${path}/kpis`), [path, latestRun]);
  const c = kpis.data?.conversion;
  if (!c) return null;
  const groups = c.variants ?? [];
  return (
    <section aria-labelledby="results">
      <h2 id="results">Results of the export of {formatDate(c.exportedAt)}</h2>
      <dl class="kpis">
        <div>
          <dt>Exported who ordered since</dt>
          <dd>{rate(c.exported.rate)}</dd>
        </div>
        {c.holdout && (
          <div>
            <dt>Control group who ordered</dt>
            <dd>{rate(c.holdout.rate)}</dd>
          </div>
        )}
        {c.uplift !== null && (
          <div>
            <dt>Uplift</dt>
            <dd>{signed(c.uplift)} pts</dd>
          </div>
        )}
      </dl>
      {groups.length > 1 && (
        <div class="scroll">
          <table class="variants" aria-label="Conversion by variant">
            <thead>
              <tr>
                <th scope="col">Variant</th>
                <th scope="col" class="num">
                  Members
                </th>
                <th scope="col" class="num">
                  Ordered
                </th>
                <th scope="col" class="num">
                  Rate (95 % interval)
                </th>
                <th scope="col" class="num">
                  Uplift vs control (95 % interval)
                </th>
                <th scope="col" class="num">
                  <abbr title="p-value adjusted for comparing several variants with the control (Holm)">Adjusted p</abbr>
                </th>
                <th scope="col">Verdict</th>
              </tr>
            </thead>
            <tbody>
              {groups.map((g) => (
                <tr data-variant={g.name}>
                  <th scope="row">
                    {g.name}
                    {g.control && <span class="tag">control</span>}
                    {g.holdout && g.name !== 'holdout' && <span class="tag">holdout</span>}
                  </th>
                  <td class="num">{formatNumber(g.members)}</td>
                  <td class="num">{formatNumber(g.converted)}</td>
                  <td class="num">
                    {rate(g.rate)}
                    {g.interval && (
                      <div class="muted interval">
                        {formatNumber(g.interval[0] * 100, oneDecimal)} to {rate(g.interval[1])}
                      </div>
                    )}
                  </td>
                  <td class="num">
                    {g.uplift === undefined ? '–' : `${signed(g.uplift)} pts`}
                    {g.upliftInterval && (
                      <div class="muted interval">
                        {signed(g.upliftInterval[0])} to {signed(g.upliftInterval[1])}
                      </div>
                    )}
                  </td>
                  <td class="num">{pValue(g.adjustedPValue)}</td>
                  <td>
                    {g.control ? <span class="muted">the reference</span> : g.verdict ? VERDICTS[g.verdict] : '–'}
                    {g.note && <div class="muted">{g.note}</div>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {!c.complete && <p class="muted">Counted over part of the members within the time budget.</p>}
    </section>
  );
}

/** A presigned link to the run's file, asked for when clicked (it expires). */
function EspLink({ path, label }: { path: string; label?: string }) {
  const [error, setError] = useState<string>();
  return (
    <>
      <button
        type="button"
        class="link"
        aria-label={label}
        onClick={async () => {
          try {
            const { url } = await get<{ url: string }>(path);
            window.open(url, '_blank', 'noopener');
          } catch (err) {
            setError((err as Error).message);
          }
        }}
      >
        Download
      </button>
      {error && <span class="muted"> {error}</span>}
    </>
  );
}
