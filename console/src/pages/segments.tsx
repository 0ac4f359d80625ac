/** Segments: the list with live sizes and the migration forecast of the stage families, and a segment's page: size over time, entries and exits, migrations, why a profile is in it. */
import { useState } from 'preact/hooks';
import { get } from '../api';
import { DayChart } from '../chart';
import { ActionForm, formatDate, formatNumber, Json, Loading, Status, useLoad } from '../components';
import { type ChecklistItem, checklistOf, type Explanation } from '../explain-words';
import { MigrationForecast } from './forecast';

interface SegmentRow {
  id: string;
  name: string;
  size: number;
  status: string;
  revision: number;
  updatedAt: string;
}

export function SegmentsPage() {
  const list = useLoad(() => get<{ segments: SegmentRow[] }>('/v1/segments'));
  return (
    <>
      <div class="title-row">
        <h1>Segments</h1>
        <a class="button" href="#/segments/new">
          New segment
        </a>
      </div>
      <Loading loaded={list}>
        {({ segments }) => (
          <table>
            <caption class="visually-hidden">Segments and their sizes</caption>
            <thead>
              <tr>
                <th scope="col">Segment</th>
                <th scope="col">Id</th>
                <th scope="col" class="num">
                  Size
                </th>
                <th scope="col">Status</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {segments.map((s) => (
                <tr>
                  <td>
                    <a href={`#/segments/${encodeURIComponent(s.id)}`}>{s.name}</a>
                  </td>
                  <td>
                    <code>{s.id}</code>
                  </td>
                  <td class="num" data-segment-size={s.id}>
                    {formatNumber(s.size)}
                  </td>
                  <td>
                    <Status value={s.status} />
                  </td>
                  <td>{formatDate(s.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loading>
      <MigrationMatrix />
      <MigrationForecast names={list.data && new Map(list.data.segments.map((s) => [s.id, s.name]))} />
    </>
  );
}

const today = () => new Date().toISOString().slice(0, 10);
const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);

function Check({ item }: { item: ChecklistItem }) {
  return (
    <li class={item.held ? 'held' : 'not-held'}>
      <span class="mark" role="img" aria-label={item.held ? 'holds' : 'does not hold'}>
        {item.held ? '✓' : '✗'}
      </span>{' '}
      {item.words}: <strong>{item.found}</strong>
      {item.parts.length > 0 && (
        <ul>
          {item.parts.map((part) => (
            <Check item={part} />
          ))}
        </ul>
      )}
    </li>
  );
}

// biome-ignore lint/suspicious/noExplicitAny: the segment's condition as the API returns it
function Explain({ segmentId, condition }: { segmentId: string; condition: any }) {
  const [query, setQuery] = useState('');
  const [result, setResult] = useState<{ member: boolean; explanation: Explanation; profileId: string }>();
  return (
    <section aria-labelledby="explain">
      <h2 id="explain">Why is a profile in it, or not?</h2>
      <ActionForm
        action={async () => {
          setResult(undefined);
          const [type, ...rest] = query.includes('=') ? query.split('=') : [query.includes('@') ? 'email' : 'userId', query];
          const profile = await get(`/v1/profiles?${encodeURIComponent(type!.trim())}=${encodeURIComponent(rest.join('=').trim())}`);
          const explained = await get(
            `/v1/profiles/${encodeURIComponent(profile.profileId)}/segments/${encodeURIComponent(segmentId)}/explain`,
          );
          setResult({ ...explained, profileId: profile.profileId });
        }}
      >
        <span class="field">
          <label for="explain-who">Email, user id, or type=value</label>
          <input id="explain-who" value={query} onInput={(e) => setQuery(e.currentTarget.value)} required />
        </span>
        <button type="submit">Explain</button>
      </ActionForm>
      {result && (
        <>
          <p>
            <a href={`#/profiles/${encodeURIComponent(result.profileId)}`}>{result.profileId}</a> is{' '}
            <strong>{result.member ? 'in' : 'not in'}</strong> this segment.
          </p>
          <ul class="checklist" data-testid="explain-checklist">
            <Check item={checklistOf(condition, result.explanation)} />
          </ul>
          <details>
            <summary>As JSON</summary>
            <Json value={result.explanation} />
          </details>
        </>
      )}
    </section>
  );
}

interface Migration {
  from: string;
  to: string;
  profiles: number;
}

/** Profiles that left one segment (row) for another (column) in the last 30 days, as a heatmap. */
function MigrationMatrix({ involving }: { involving?: string }) {
  const migrations = useLoad(() => get<{ migrations: Migration[] }>(`/v1/migrations?from=${daysAgo(30)}&to=${today()}`), [involving]);
  return (
    <section aria-labelledby="migrations">
      <h2 id="migrations">Migrations, last 30 days</h2>
      <Loading loaded={migrations}>
        {({ migrations: all }) => {
          const flows = involving ? all.filter((m) => m.from === involving || m.to === involving) : all;
          if (flows.length === 0)
            return <p class="muted">No profile moved between {involving ? 'this segment and another' : 'segments'}.</p>;
          const rows = [...new Set(flows.map((m) => m.from))].sort();
          const columns = [...new Set(flows.map((m) => m.to))].sort();
          const count = new Map(flows.map((m) => [`${m.from}>${m.to}`, m.profiles]));
          const max = Math.max(...flows.map((m) => m.profiles));
          return (
            <div class="scroll">
              <table class="matrix">
                <caption class="visually-hidden">Profiles that left the segment of each row for the segment of each column</caption>
                <thead>
                  <tr>
                    <th scope="col">from \ to</th>
                    {columns.map((c) => (
                      <th scope="col">{c}</th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {rows.map((r) => (
                    <tr>
                      <th scope="row">{r}</th>
                      {columns.map((c) => {
                        const n = count.get(`${r}>${c}`);
                        return (
                          <td
                            class="num"
                            style={n ? { background: `rgba(37, 99, 235, ${(0.12 + (0.6 * n) / max).toFixed(2)})` } : undefined}
                          >
                            {n ? formatNumber(n) : ''}
                          </td>
                        );
                      })}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          );
        }}
      </Loading>
    </section>
  );
}

/** What the segment did lately, and the audiences that export it. */
function Kpis({ segmentId, days }: { segmentId: string; days: Array<{ entered: number; exited: number; size: number }> }) {
  const audiences = useLoad(
    () =>
      get<{ audiences: Array<{ id: string; name: string; segmentId: string; status: string; approval?: { size: number } }> }>(
        '/v1/audiences',
      ),
    [segmentId],
  );
  const entered = days.reduce((sum, d) => sum + d.entered, 0);
  const exited = days.reduce((sum, d) => sum + d.exited, 0);
  const using = (audiences.data?.audiences ?? []).filter((a) => a.segmentId === segmentId);
  return (
    <dl class="kpis">
      <div>
        <dt>Entered, 30 days</dt>
        <dd>{formatNumber(entered)}</dd>
      </div>
      <div>
        <dt>Exited, 30 days</dt>
        <dd>{formatNumber(exited)}</dd>
      </div>
      <div>
        <dt>Net change</dt>
        <dd>
          {entered - exited >= 0 ? '+' : ''}
          {formatNumber(entered - exited)}
        </dd>
      </div>
      <div>
        <dt>Audiences</dt>
        <dd>
          {using.length === 0
            ? 'none'
            : using.map((a) => (
                <a href={`#/audiences/${encodeURIComponent(a.id)}`}>
                  {a.name} <Status value={a.status} />
                </a>
              ))}
        </dd>
      </div>
    </dl>
  );
}

export function SegmentPage({ segmentId }: { segmentId: string }) {
  const path = `/v1/segments/${encodeURIComponent(segmentId)}`;
  const segment = useLoad(() => get(path), [segmentId]);
  const history = useLoad(
    () => get<{ days: Array<{ day: string; entered: number; exited: number; size: number }> }>(`${path}/history?days=30`),
    [segmentId],
  );
  return (
    <Loading loaded={segment}>
      {(s) => (
        <>
          <div class="title-row">
            <h1>{s.name}</h1>
            {s.managedBy ? (
              <a class="button secondary" href="#/jobs">
                Managed by Prisme from the indicator definitions
              </a>
            ) : (
              <a class="button" href={`#/segments/${encodeURIComponent(segmentId)}/edit`}>
                Edit
              </a>
            )}
          </div>
          <p>
            <code>{s.id}</code> revision {s.revision} · <Status value={s.status} /> ·{' '}
            <strong data-testid="segment-size">{formatNumber(s.size)}</strong> members
            {s.aggregatesSince && <> · aggregates from the archive being added (since {formatDate(s.aggregatesSince)})</>}
          </p>
          {s.description && <p>{s.description}</p>}
          <Loading loaded={history}>{({ days }) => <Kpis segmentId={segmentId} days={days} />}</Loading>
          <Loading loaded={history}>
            {({ days }) =>
              days.length === 0 ? (
                <p class="muted">No history yet.</p>
              ) : (
                <div class="charts">
                  <DayChart
                    title="Size over time"
                    days={days.map((d) => d.day)}
                    series={[{ label: 'members', values: days.map((d) => d.size), color: '#2563eb' }]}
                  />
                  <DayChart
                    title="Entries and exits per day"
                    days={days.map((d) => d.day)}
                    series={[
                      { label: 'entered', values: days.map((d) => d.entered), color: '#16a34a', bars: true },
                      { label: 'exited', values: days.map((d) => d.exited), color: '#dc2626', bars: true },
                    ]}
                  />
                </div>
              )
            }
          </Loading>
          <MigrationMatrix involving={segmentId} />
          <Explain segmentId={segmentId} condition={s.condition} />
          <details>
            <summary>Condition</summary>
            <Json value={s.condition} />
          </details>
        </>
      )}
    </Loading>
  );
}
