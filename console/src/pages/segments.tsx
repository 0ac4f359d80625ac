/** Segments: the list with live sizes, and a segment's page: size over time, entries and exits, migrations, why a profile is in it. */
import { useState } from 'preact/hooks';
import { get } from '../api';
import { DayChart } from '../chart';
import { ActionForm, Json, Loading, Status, formatDate, formatNumber, useLoad } from '../components';

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
        <a class="button" href="#/segments/new">New segment</a>
      </div>
      <Loading loaded={list}>
        {({ segments }) => (
          <table>
            <caption class="visually-hidden">Segments and their sizes</caption>
            <thead>
              <tr><th scope="col">Segment</th><th scope="col">Id</th><th scope="col" class="num">Size</th><th scope="col">Status</th><th scope="col">Updated</th></tr>
            </thead>
            <tbody>
              {segments.map((s) => (
                <tr>
                  <td><a href={`#/segments/${encodeURIComponent(s.id)}`}>{s.name}</a></td>
                  <td><code>{s.id}</code></td>
                  <td class="num" data-segment-size={s.id}>{formatNumber(s.size)}</td>
                  <td><Status value={s.status} /></td>
                  <td>{formatDate(s.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loading>
    </>
  );
}

const today = () => new Date().toISOString().slice(0, 10);
const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);

function Explain({ segmentId }: { segmentId: string }) {
  const [query, setQuery] = useState('');
  const [result, setResult] = useState<{ member: boolean; explanation: unknown; profileId: string }>();
  return (
    <section aria-labelledby="explain">
      <h2 id="explain">Why is a profile in it, or not?</h2>
      <ActionForm
        action={async () => {
          setResult(undefined);
          const [type, ...rest] = query.includes('=') ? query.split('=') : [query.includes('@') ? 'email' : 'userId', query];
          const profile = await get(`/v1/profiles?${encodeURIComponent(type!.trim())}=${encodeURIComponent(rest.join('=').trim())}`);
          const explained = await get(`/v1/profiles/${encodeURIComponent(profile.profileId)}/segments/${encodeURIComponent(segmentId)}/explain`);
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
            <a href={`#/profiles/${encodeURIComponent(result.profileId)}`}>{result.profileId}</a> is <strong>{result.member ? 'in' : 'not in'}</strong> this segment.
          </p>
          <Json value={result.explanation} />
        </>
      )}
    </section>
  );
}

function Migrations({ segmentId }: { segmentId: string }) {
  const migrations = useLoad(() => get<{ migrations: Array<{ from: string; to: string; profiles: number }> }>(`/v1/migrations?from=${daysAgo(30)}&to=${today()}`), [segmentId]);
  return (
    <section aria-labelledby="migrations">
      <h2 id="migrations">Migrations, last 30 days</h2>
      <Loading loaded={migrations}>
        {({ migrations: all }) => {
          const mine = all.filter((m) => m.from === segmentId || m.to === segmentId).sort((a, b) => b.profiles - a.profiles);
          if (mine.length === 0) return <p class="muted">No profile moved between this segment and another.</p>;
          const max = Math.max(...mine.map((m) => m.profiles));
          return (
            <table class="heat">
              <thead><tr><th scope="col">From</th><th scope="col">To</th><th scope="col" class="num">Profiles</th></tr></thead>
              <tbody>
                {mine.map((m) => (
                  <tr>
                    <td>{m.from}</td>
                    <td>{m.to}</td>
                    <td class="num" style={{ background: `rgba(37, 99, 235, ${(0.1 + (0.6 * m.profiles) / max).toFixed(2)})` }}>{formatNumber(m.profiles)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          );
        }}
      </Loading>
    </section>
  );
}

export function SegmentPage({ segmentId }: { segmentId: string }) {
  const path = `/v1/segments/${encodeURIComponent(segmentId)}`;
  const segment = useLoad(() => get(path), [segmentId]);
  const history = useLoad(() => get<{ days: Array<{ day: string; entered: number; exited: number; size: number }> }>(`${path}/history?days=30`), [segmentId]);
  return (
    <Loading loaded={segment}>
      {(s) => (
        <>
          <div class="title-row">
            <h1>{s.name}</h1>
            <a class="button" href={`#/segments/${encodeURIComponent(segmentId)}/edit`}>Edit</a>
          </div>
          <p>
            <code>{s.id}</code> revision {s.revision} · <Status value={s.status} /> · <strong data-testid="segment-size">{formatNumber(s.size)}</strong> members
            {s.aggregatesSince && <> · aggregates from the archive being added (since {formatDate(s.aggregatesSince)})</>}
          </p>
          {s.description && <p>{s.description}</p>}
          <Loading loaded={history}>
            {({ days }) =>
              days.length === 0 ? (
                <p class="muted">No history yet.</p>
              ) : (
                <div class="charts">
                  <DayChart title="Size over time" days={days.map((d) => d.day)} series={[{ label: 'members', values: days.map((d) => d.size), color: '#2563eb' }]} />
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
          <Migrations segmentId={segmentId} />
          <Explain segmentId={segmentId} />
          <details>
            <summary>Condition</summary>
            <Json value={s.condition} />
          </details>
        </>
      )}
    </Loading>
  );
}
