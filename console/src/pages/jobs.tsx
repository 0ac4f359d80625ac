/**
 * Jobs: the daily freeze (run it now, its history, the customer-base models it fitted), backfills of new
 * segments, replays, and what waits in the DLQ.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, get, post } from '../api';
import { ErrorBox, formatDate, formatNumber, Loading, Status, underWay, useLoad, useRefreshWhile } from '../components';
import { atDay } from '../language';

interface Run {
  runId: string;
  status: string;
  phase?: string;
  startedAt: string;
  finishedAt?: string;
  progress?: Record<string, unknown>;
}

const duration = (run: Run) =>
  run.finishedAt ? `${((Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000).toFixed(1)} s` : 'running';

/** A job's latest runs, refreshed while one is under way; `onFinished` when the last one under way ends. */
function Runs({ job, describe, onFinished }: { job: string; describe: (run: Run) => string; onFinished?: () => void }) {
  const runs = useLoad(() => get<{ runs: Run[] }>(`/v1/jobs/${job}/runs?limit=10`), [job]);
  useRefreshWhile(runs, (data) => underWay(data.runs));
  const going = runs.data && underWay(runs.data.runs);
  const wasGoing = useRef(false);
  useEffect(() => {
    if (going === undefined) return;
    if (wasGoing.current && !going) onFinished?.();
    wasGoing.current = going;
  }, [going]);
  return (
    <Loading loaded={runs}>
      {({ runs: all }) =>
        all.length === 0 ? (
          <p class="muted">No run yet.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Status</th>
                <th scope="col">Started</th>
                <th scope="col">Took</th>
                <th scope="col">What it did</th>
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
                    {r.phase && r.status === 'running' && <span class="muted"> {r.phase}</span>}
                  </td>
                  <td>{formatDate(r.startedAt)}</td>
                  <td>{duration(r)}</td>
                  <td>{describe(r)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      }
    </Loading>
  );
}

interface CustomerModels {
  runId: string;
  frozenAt: string;
  asOf: string;
  timeUnit: string;
  customers: number;
  repeatCustomers: number;
  rows: number;
  bgnbd: { r: number; alpha: number; a: number; b: number; logLikelihood: number; converged: boolean };
  spend?: { p: number; q: number; v: number; logLikelihood: number; converged: boolean };
  fitMs: number;
}

interface Thresholds {
  minCustomers: number;
  minRepeatCustomers: number;
}

/** The models, or (404: too few customers so far) the thresholds of the customer_value definition the freeze waits for. */
async function loadModels(): Promise<{ models?: CustomerModels; thresholds?: Thresholds; defaults?: Thresholds; reason?: string }> {
  try {
    return { models: await get<CustomerModels>('/v1/indicators/models') };
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 404) throw err;
    const definition = await get<{ settings: Thresholds; defaults: Thresholds }>('/v1/indicators/definitions/customer_value').catch(
      () => undefined,
    );
    // The API says why the last freeze fitted none, when one ran.
    return { thresholds: definition?.settings, defaults: definition?.defaults, reason: err.message };
  }
}

const parameter = (value: number) => formatNumber(value, { maximumSignificantDigits: 4 });
const yesNo = (converged: boolean) => (converged ? 'yes' : 'no');

function Parameters({ values }: { values: Array<[name: string, value: string]> }) {
  return (
    <dl class="pairs">
      {values.map(([name, value]) => (
        <>
          <dt>{name}</dt>
          <dd>{value}</dd>
        </>
      ))}
    </dl>
  );
}

/** What the last freeze fitted on the customer base: BG/NBD and Gamma-Gamma, in words. */
function CustomerBaseModels({ tick }: { tick: number }) {
  const loaded = useLoad(loadModels, [tick]);
  return (
    <section aria-labelledby="models">
      <h2 id="models">Customer-base models</h2>
      <Loading loaded={loaded}>
        {({ models: m, thresholds, defaults, reason }) =>
          !m ? (
            <>
              <p data-testid="models-missing">
                No customer-base models yet: the freeze fits them once there are enough customers
                {thresholds
                  ? `, at least ${formatNumber(thresholds.minCustomers)} customers of whom ${formatNumber(thresholds.minRepeatCustomers)} ordered again`
                  : ''}{' '}
                (<code>minCustomers</code> and <code>minRepeatCustomers</code> in the <code>customer_value</code> indicator definition,{' '}
                {formatNumber(defaults?.minCustomers ?? 100)} and {formatNumber(defaults?.minRepeatCustomers ?? 20)} by default). A freeze
                whose fit does not converge keeps none either.
              </p>
              {reason && (
                <p class="muted" data-testid="models-reason">
                  {reason}
                </p>
              )}
            </>
          ) : (
            <>
              <p data-testid="models-summary">
                Fitted by the freeze <code>{m.runId}</code> of {formatDate(m.frozenAt)}, on the customers as of {formatDate(m.asOf)}:{' '}
                {formatNumber(m.customers)} customers, {formatNumber(m.repeatCustomers)} of them repeat customers ({formatNumber(m.rows)}{' '}
                distinct rows read). Times are in {m.timeUnit}. The fit took {formatNumber(m.fitMs)} ms.
              </p>
              <div class="cards">
                <section aria-labelledby="bgnbd">
                  <h3 id="bgnbd">BG/NBD (purchase and dropout)</h3>
                  <Parameters
                    values={[
                      ['r', parameter(m.bgnbd.r)],
                      ['α', parameter(m.bgnbd.alpha)],
                      ['a', parameter(m.bgnbd.a)],
                      ['b', parameter(m.bgnbd.b)],
                      ['log-likelihood', parameter(m.bgnbd.logLikelihood)],
                      ['converged', yesNo(m.bgnbd.converged)],
                    ]}
                  />
                  <p class="hint">
                    A customer buys about {formatNumber(m.bgnbd.r / m.bgnbd.alpha, { maximumSignificantDigits: 2 })} times a{' '}
                    {m.timeUnit.replace(/s$/, '')} on average (r / α) while active, and drops out after a purchase with a chance of{' '}
                    {formatNumber(m.bgnbd.a / (m.bgnbd.a + m.bgnbd.b), { style: 'percent', maximumFractionDigits: 1 })} on average (a / (a +
                    b)).
                  </p>
                </section>
                <section aria-labelledby="gamma-gamma">
                  <h3 id="gamma-gamma">Gamma-Gamma (order value)</h3>
                  {m.spend ? (
                    <>
                      <Parameters
                        values={[
                          ['p', parameter(m.spend.p)],
                          ['q', parameter(m.spend.q)],
                          ['v', parameter(m.spend.v)],
                          ['log-likelihood', parameter(m.spend.logLikelihood)],
                          ['converged', yesNo(m.spend.converged)],
                        ]}
                      />
                      <p class="hint">
                        An order is worth {parameter((m.spend.p * m.spend.v) / (m.spend.q - 1))} on average across customers (p · v / (q −
                        1)).
                      </p>
                    </>
                  ) : (
                    <p class="muted">Not fitted: too few repeat customers with order values, or no fit with a finite mean order value.</p>
                  )}
                </section>
              </div>
            </>
          )
        }
      </Loading>
    </section>
  );
}

const n = (run: Run, field: string) => formatNumber(run.progress?.[field] as number | undefined);

export function JobsPage() {
  const [error, setError] = useState<Error>();
  const [note, setNote] = useState<string>();
  const [tick, setTick] = useState(0);
  const [freezes, setFreezes] = useState(0);
  const dlq = useLoad(() => get<{ messages: number; oldestAt?: string }>('/v1/jobs/dlq'), [tick]);
  return (
    <>
      <h1>Jobs</h1>
      <section aria-labelledby="dlq">
        <h2 id="dlq">Dead-letter queue</h2>
        <Loading loaded={dlq}>
          {(q) => (
            <p data-testid="dlq-size">
              {q.messages === 0 ? (
                'Empty: every event was processed.'
              ) : (
                <>
                  <strong>{formatNumber(q.messages)}</strong> message(s) parked. Inspect and redrive them with{' '}
                  <code>npm run prisme -- dlq inspect</code> and <code>dlq redrive</code>.
                </>
              )}
            </p>
          )}
        </Loading>
      </section>
      <section aria-labelledby="freeze">
        <div class="title-row">
          <h2 id="freeze">Daily freeze</h2>
          <button
            type="button"
            onClick={async () => {
              setError(undefined);
              try {
                const run = await post('/v1/jobs/freeze');
                setNote(`Freeze ${run.runId} requested.`);
                setTick((t) => t + 1);
              } catch (err) {
                setError(err as Error);
              }
            }}
          >
            Run the freeze now
          </button>
        </div>
        {note && <p role="status">{note}</p>}
        <ErrorBox error={error} />
        <Runs
          key={`freeze-${tick}`}
          job="freeze"
          onFinished={() => setFreezes((f) => f + 1)}
          describe={(r) =>
            `${n(r, 'profiles')} profiles scored, ${n(r, 'transitions')} membership changes, ${n(r, 'frozenWritten')} frozen values written`
          }
        />
      </section>
      <CustomerBaseModels tick={freezes} />
      <section aria-labelledby="backfill">
        <h2 id="backfill">Backfills of new segments</h2>
        <Runs
          job="backfill"
          describe={(r) =>
            `${String(r.progress?.segmentId ?? '')}: ${n(r, 'events')} archived events added in ${n(r, 'profileWrites')} profile writes${r.progress?.reason ? ` (${String(r.progress.reason)})` : ''}${atDay(r)}`
          }
        />
      </section>
      <section aria-labelledby="replay">
        <h2 id="replay">Replays</h2>
        <Runs
          job="replay"
          describe={(r) =>
            `${String(r.progress?.from ?? '')} to ${String(r.progress?.to ?? '')}: ${n(r, 'events')} events sent again, ${n(r, 'unreadable')} unreadable${atDay(r)}`
          }
        />
      </section>
    </>
  );
}
