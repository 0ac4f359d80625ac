/**
 * The migration forecast of a family of segments (`GET /v1/segments/migrations/forecast`): where today's
 * members of each state will be in some days, and the sizes that makes, from the flows recorded lately.
 */
import { useState } from 'preact/hooks';
import { get } from '../api';
import { formatDay, formatNumber, Loading, useLoad } from '../components';

type ByState = Record<string, number>;

export interface Forecast {
  family: string[];
  /** The family's states, then `outside`. */
  states: string[];
  observed: { from: string; to: string; days: number; personDays: ByState };
  horizonDays: number;
  inDays: Record<string, ByState>;
  sizes: { now: ByState; expected: ByState; arrivalsPerDay: ByState };
  note?: string;
}

const FAMILIES = [
  ['lifecycle', 'Lifecycle stages'],
  ['intent', 'Intent stages'],
] as const;

const OUTSIDE = 'outside';
const percent = (p: number | undefined) => formatNumber(p, { style: 'percent', maximumFractionDigits: 1 });

/** Where members of a family will be in N days; `names` gives the segments' names (their ids until it is known). */
export function MigrationForecast({ names }: { names?: ReadonlyMap<string, string> }) {
  const [family, setFamily] = useState<string>('lifecycle');
  const [days, setDays] = useState('30');
  const [observe, setObserve] = useState('30');
  const [query, setQuery] = useState({ family: 'lifecycle', days: '30', observe: '30' });
  const forecast = useLoad(
    () =>
      get<Forecast>(
        `/v1/segments/migrations/forecast?family=${encodeURIComponent(query.family)}&days=${encodeURIComponent(query.days)}&observe=${encodeURIComponent(query.observe)}`,
      ),
    [query.family, query.days, query.observe],
  );
  const nameOf = (state: string) => (state === OUTSIDE ? 'outside' : (names?.get(state) ?? state));
  return (
    <section aria-labelledby="forecast">
      <h2 id="forecast">Migration forecast</h2>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery({ family, days, observe });
        }}
      >
        <span class="field">
          <label for="forecast-family">Family</label>
          <select id="forecast-family" value={family} onChange={(e) => setFamily(e.currentTarget.value)}>
            {FAMILIES.map(([id, label]) => (
              <option value={id}>{label}</option>
            ))}
          </select>
        </span>
        <span class="field">
          <label for="forecast-days">In how many days</label>
          <input
            id="forecast-days"
            type="number"
            min={1}
            max={365}
            step={1}
            value={days}
            onInput={(e) => setDays(e.currentTarget.value)}
            required
          />
        </span>
        <span class="field">
          <label for="forecast-observe">Learned from the last (days)</label>
          <input
            id="forecast-observe"
            type="number"
            min={7}
            max={400}
            step={1}
            value={observe}
            onInput={(e) => setObserve(e.currentTarget.value)}
            required
          />
        </span>
        <button type="submit">Forecast</button>
      </form>
      <Loading loaded={forecast}>
        {(f) => {
          const max = Math.max(1e-9, ...f.family.flatMap((from) => f.states.map((to) => f.inDays[from]?.[to] ?? 0)));
          const personDays = f.family.reduce((sum, state) => sum + (f.observed.personDays[state] ?? 0), 0);
          return (
            <>
              <p>
                Learned from the {formatNumber(f.observed.days)} days from {formatDay(f.observed.from)} to {formatDay(f.observed.to)} (
                {formatNumber(personDays)} person-days in the family): the entries, exits and moves recorded each day, repeated for{' '}
                {formatNumber(f.horizonDays)} days.
              </p>
              {f.note && (
                <p class="warning" data-testid="forecast-note">
                  {f.note}
                </p>
              )}
              <div class="scroll">
                <table class="matrix">
                  <caption class="lead">Where today's members of each state will be in {formatNumber(f.horizonDays)} days</caption>
                  <thead>
                    <tr>
                      <th scope="col">today \ in {formatNumber(f.horizonDays)} days</th>
                      {f.states.map((to) => (
                        <th scope="col">{nameOf(to)}</th>
                      ))}
                    </tr>
                  </thead>
                  <tbody>
                    {f.family.map((from) => (
                      <tr>
                        <th scope="row">{nameOf(from)}</th>
                        {f.states.map((to) => {
                          const p = f.inDays[from]?.[to];
                          return (
                            <td
                              class="num"
                              style={p ? { background: `rgba(37, 99, 235, ${(0.08 + (0.6 * p) / max).toFixed(2)})` } : undefined}
                            >
                              {percent(p)}
                            </td>
                          );
                        })}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <p class="hint">
                Each row adds up to 100 %. <em>outside</em> is in none of these segments (for the lifecycle, cold prospects too); leaving
                the family counts as for good in a member's odds, and newcomers are counted as arrivals below.
              </p>
              <div class="scroll">
                <table class="matrix">
                  <caption class="lead">Sizes now and in {formatNumber(f.horizonDays)} days</caption>
                  <thead>
                    <tr>
                      <th scope="col">Segment</th>
                      <th scope="col" class="num">
                        Members now
                      </th>
                      <th scope="col" class="num">
                        Expected in {formatNumber(f.horizonDays)} days
                      </th>
                      <th scope="col" class="num">
                        Arrivals a day
                      </th>
                      <th scope="col" class="num">
                        Person-days observed
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {f.family.map((state) => (
                      <tr>
                        <th scope="row">{nameOf(state)}</th>
                        <td class="num">{formatNumber(f.sizes.now[state])}</td>
                        <td class="num">{formatNumber(f.sizes.expected[state], { maximumFractionDigits: 1 })}</td>
                        <td class="num">{formatNumber(f.sizes.arrivalsPerDay[state], { maximumFractionDigits: 2 })}</td>
                        <td class="num">{formatNumber(f.observed.personDays[state])}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </>
          );
        }}
      </Loading>
    </section>
  );
}
