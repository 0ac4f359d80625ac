/** Profiles: find one by any identifier; its page shows identifiers, traits, groups, indicators, consents, memberships and a timeline. */
import { useState } from 'preact/hooks';
import { get } from '../api';
import { ActionForm, formatDate, formatNumber, Json, Loading, useLoad } from '../components';
import { clusterWords, indicatorLabel } from '../language';

const IDENTIFIER_TYPES = ['email', 'userId', 'phone', 'loyaltyCard', 'anonymousId'];

export function ProfilesPage() {
  const [type, setType] = useState('email');
  const [value, setValue] = useState('');
  return (
    <>
      <h1>Find a profile</h1>
      <ActionForm
        action={async () => {
          const profile = await get(`/v1/profiles?${encodeURIComponent(type)}=${encodeURIComponent(value.trim())}`);
          location.hash = `#/profiles/${encodeURIComponent(profile.profileId)}`;
        }}
      >
        <span class="field">
          <label for="identifier-type">Identifier</label>
          <input id="identifier-type" list="identifier-types" value={type} onInput={(e) => setType(e.currentTarget.value)} required />
          <datalist id="identifier-types">
            {IDENTIFIER_TYPES.map((t) => (
              <option value={t} />
            ))}
          </datalist>
        </span>
        <span class="field">
          <label for="identifier-value">Value</label>
          <input id="identifier-value" value={value} onInput={(e) => setValue(e.currentTarget.value)} required />
        </span>
        <button type="submit">Find</button>
      </ActionForm>
      <p class="muted">Any identifier Prisme keeps: email, userId, phone (any format), loyaltyCard, anonymousId or a custom id type.</p>
    </>
  );
}

type Days = Array<{ day: string; count: number }>;

/** Every event name and channel's daily counts, newest day first, as one timeline. */
function Timeline({ events }: { events: Record<string, Record<string, Days>> }) {
  const byDay = new Map<string, Array<{ event: string; channel: string; count: number }>>();
  for (const [event, channels] of Object.entries(events)) {
    for (const [channel, days] of Object.entries(channels))
      for (const { day, count } of days) byDay.get(day)?.push({ event, channel, count }) ?? byDay.set(day, [{ event, channel, count }]);
  }
  const days = [...byDay.keys()].sort().reverse().slice(0, 30);
  if (days.length === 0) return <p class="muted">No behaviour recorded.</p>;
  return (
    <ol class="timeline">
      {days.map((day) => (
        <li>
          <time datetime={day}>{day}</time>
          <ul>
            {byDay
              .get(day)!
              .sort((a, b) => b.count - a.count)
              .map((e) => (
                <li>
                  <span class={`channel channel-${e.channel}`}>{e.channel}</span> {e.event}{' '}
                  {e.count > 1 && <span class="muted">×{e.count}</span>}
                </li>
              ))}
          </ul>
        </li>
      ))}
    </ol>
  );
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;
/** The profiles of the same person this one absorbed (identity resolution), newest first. */
function MergeHistory({ profileId }: { profileId: string }) {
  const identity = useLoad(
    () =>
      get<{ merged: Array<{ profileId: string; firstSeen: string; mergedAt?: string }> }>(
        `/v1/profiles/${encodeURIComponent(profileId)}/identity`,
      ),
    [profileId],
  );
  const merged = identity.data?.merged ?? [];
  if (merged.length === 0) return null;
  return (
    <>
      <h3>Merged into this profile</h3>
      <ul>
        {[...merged]
          .sort((a, b) => (b.mergedAt ?? '').localeCompare(a.mergedAt ?? ''))
          .map((m) => (
            <li>
              <code>{m.profileId}</code>{' '}
              <span class="muted">
                first seen {formatDate(m.firstSeen)}, merged {formatDate(m.mergedAt)}
              </span>
            </li>
          ))}
      </ul>
    </>
  );
}

const show = (value: unknown) =>
  typeof value === 'number'
    ? formatNumber(Math.round(value * 100) / 100)
    : typeof value === 'string'
      ? ISO_TIME.test(value)
        ? formatDate(value)
        : value
      : JSON.stringify(value);

export function ProfilePage({ profileId }: { profileId: string }) {
  const profile = useLoad(() => get(`/v1/profiles/${encodeURIComponent(profileId)}/export`), [profileId]);
  // Indicators in words: each one's description, and the clusters of the last freeze (none before the first).
  const indicators = useLoad(() => get<{ indicators: Array<{ id: string; description: string }> }>('/v1/indicators'));
  const clusters = useLoad(() =>
    get<{ descriptions: Array<{ id: number; share: number; description: string }> }>('/v1/indicators/clusters').catch(() => ({
      descriptions: [],
    })),
  );
  const descriptions = new Map((indicators.data?.indicators ?? []).map((i) => [i.id, i.description]));
  return (
    <Loading loaded={profile}>
      {(p) => (
        <>
          <h1>{p.identifiers.email?.at(-1) ?? p.identifiers.userId?.at(-1) ?? p.profileId}</h1>
          <p class="muted">
            <code>{p.profileId}</code> · first seen {formatDate(p.firstSeen)} · last seen {formatDate(p.lastSeen)}
            {p.mergedProfiles.length > 0 && <> · merged from {p.mergedProfiles.length} profile(s)</>}
          </p>
          <div class="cards">
            <section aria-labelledby="ids">
              <h2 id="ids">Identifiers</h2>
              <table>
                <thead>
                  <tr>
                    <th scope="col">Type</th>
                    <th scope="col">Value</th>
                    <th scope="col">Last seen</th>
                    <th scope="col">Source</th>
                  </tr>
                </thead>
                <tbody>
                  {p.identifierDetails.map((i: { type: string; value: string; lastSeen?: string; source?: string }) => (
                    <tr>
                      <td>{i.type}</td>
                      <td>{i.value}</td>
                      <td>{formatDate(i.lastSeen)}</td>
                      <td>{i.source ?? '–'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </section>
            <section aria-labelledby="segments">
              <h2 id="segments">Segments and identity</h2>
              {p.segments.length === 0 ? (
                <p class="muted">In no segment.</p>
              ) : (
                <ul>
                  {p.segments.map((s: { id: string; name: string; enteredAt?: string }) => (
                    <li>
                      <a href={`#/segments/${encodeURIComponent(s.id)}`}>{s.name}</a>{' '}
                      <span class="muted">since {formatDate(s.enteredAt)}</span>
                    </li>
                  ))}
                </ul>
              )}
              <MergeHistory profileId={p.profileId} />
            </section>
            <section aria-labelledby="consents">
              <h2 id="consents">Consents</h2>
              {Object.keys(p.consents ?? {}).length === 0 ? (
                <p class="muted">No consent statement.</p>
              ) : (
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Channel</th>
                      <th scope="col">Status</th>
                      <th scope="col">Since</th>
                      <th scope="col">Source</th>
                    </tr>
                  </thead>
                  <tbody>
                    {Object.entries(p.consents as Record<string, { status: string; at: string; source?: string }>).map(([channel, c]) => (
                      <tr>
                        <td>{channel}</td>
                        <td>{c.status}</td>
                        <td>{formatDate(c.at)}</td>
                        <td>{c.source ?? '–'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </section>
          </div>
          <div class="cards">
            <section aria-labelledby="indicators">
              <h2 id="indicators">Indicators {p.frozenAt && <span class="muted">(frozen ones as of {formatDate(p.frozenAt)})</span>}</h2>
              <dl class="pairs">
                {Object.entries(p.indicators as Record<string, unknown>).map(([k, v]) => (
                  <>
                    <dt title={descriptions.get(k.split('|')[0]!)}>{indicatorLabel(k)}</dt>
                    <dd>{(k === 'cluster' && clusterWords(v, clusters.data?.descriptions)) || show(v)}</dd>
                  </>
                ))}
              </dl>
            </section>
            <section aria-labelledby="traits">
              <h2 id="traits">Traits</h2>
              <dl class="pairs">
                {Object.entries(p.traits as Record<string, unknown>).map(([k, v]) => (
                  <>
                    <dt>{k}</dt>
                    <dd>{show(v)}</dd>
                  </>
                ))}
              </dl>
            </section>
            {(p.groups as unknown[] | undefined)?.length ? (
              <section aria-labelledby="groups">
                <h2 id="groups">Groups</h2>
                {(p.groups as Array<{ groupId: string; traits: Record<string, unknown> }>).map((g) => (
                  <dl class="pairs">
                    <dt>group</dt>
                    <dd>{g.groupId}</dd>
                    {Object.entries(g.traits).map(([k, v]) => (
                      <>
                        <dt>{k}</dt>
                        <dd>{show(v)}</dd>
                      </>
                    ))}
                  </dl>
                ))}
              </section>
            ) : null}
            <section aria-labelledby="timeline">
              <h2 id="timeline">Recent behaviour</h2>
              <Timeline events={p.events} />
            </section>
          </div>
          <details>
            <summary>Everything (the GDPR export)</summary>
            <Json value={p} />
          </details>
        </>
      )}
    </Loading>
  );
}
