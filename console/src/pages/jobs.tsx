/** Jobs: the daily freeze (run it now, its history), backfills of new segments, replays, and what waits in the DLQ. */
import { useState } from 'preact/hooks';
import { get, post } from '../api';
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

function Runs({ job, describe }: { job: string; describe: (run: Run) => string }) {
  const runs = useLoad(() => get<{ runs: Run[] }>(`/v1/jobs/${job}/runs?limit=10`), [job]);
  useRefreshWhile(runs, (data) => underWay(data.runs));
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

const n = (run: Run, field: string) => formatNumber(run.progress?.[field] as number | undefined);

export function JobsPage() {
  const [error, setError] = useState<Error>();
  const [note, setNote] = useState<string>();
  const [tick, setTick] = useState(0);
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
          describe={(r) =>
            `${n(r, 'profiles')} profiles scored, ${n(r, 'transitions')} membership changes, ${n(r, 'frozenWritten')} frozen values written`
          }
        />
      </section>
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
