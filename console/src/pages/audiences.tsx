/** Audiences: the list; an audience's page with its preview against the last approval, approval, snapshot runs (held ones to review) and KPIs. */
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
          await put(`/v1/audiences/${encodeURIComponent(form.id)}`, {
            name: form.name,
            segmentId: form.segmentId,
            fields: form.fields
              .split(',')
              .map((f) => f.trim())
              .filter(Boolean),
            format: form.format,
            minSize: Number(form.minSize),
            holdoutPercent: Number(form.holdoutPercent),
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
        {input('holdoutPercent', 'Holdout %', { type: 'number', min: 0, max: 50, style: { width: '5em' } })}
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
  progress?: Record<string, unknown>;
  error?: string;
}

const percent = (change: number | null) => (change === null ? '' : `${change >= 0 ? '+' : ''}${Math.round(change * 100)} %`);

interface Preview {
  members: number;
  holdout: number;
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
          <section aria-labelledby="review">
            <h2 id="review">Review</h2>
            <Loading loaded={preview}>
              {(p) => (
                <p data-testid="audience-preview">
                  Exports <strong>{formatNumber(p.members)}</strong> members now
                  {p.holdout > 0 && <> ({formatNumber(p.holdout)} held out as control)</>}
                  {p.approvedSize === null ? (
                    ', never approved.'
                  ) : (
                    <>
                      , against {formatNumber(p.approvedSize)} approved ({percent(p.change)}; the limit is ±
                      {Math.round(a.maxSizeChange * 100)} %).
                    </>
                  )}
                  {p.members < a.minSize && <> Under the minimum of {a.minSize}: snapshots stay held.</>}
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
          <Results path={path} />
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
                      {all.map((r) => (
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
                        </tr>
                      ))}
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

interface Conversion {
  exportedAt: string;
  complete: boolean;
  exported: { members: number; converted: number; rate: number | null };
  holdout: { members: number; converted: number; rate: number | null } | null;
  uplift: number | null;
}

const rate = (r: number | null) => (r === null ? '–' : `${(r * 100).toFixed(1)} %`);

/** Who ordered after the latest export, against the control group held out of it. */
function Results({ path }: { path: string }) {
  const kpis = useLoad(() => get<{ conversion: Conversion | null }>(`${path}/kpis`), [path]);
  const c = kpis.data?.conversion;
  if (!c) return null;
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
            <dd>
              {c.uplift >= 0 ? '+' : ''}
              {c.uplift.toFixed(1)} pts
            </dd>
          </div>
        )}
      </dl>
      {!c.complete && <p class="muted">Counted over part of the members within the time budget.</p>}
    </section>
  );
}

/** A presigned link to the run's file, asked for when clicked (it expires). */
function EspLink({ path }: { path: string }) {
  const [error, setError] = useState<string>();
  return (
    <>
      <button
        type="button"
        class="link"
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
