/** Small pieces every page uses: loading data, errors with their fields, numbers, dates. */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError } from './api';

export interface Loaded<T> {
  data?: T;
  error?: Error;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` now and whenever `deps` change; `reload` runs it again (after a change the page made). */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[] = []): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let current = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => current && setState({ data, loading: false }),
      (error: Error) => current && setState({ error, loading: false }),
    );
    return () => {
      current = false;
    };
  }, [...deps, tick]);
  return { ...state, reload: useCallback(() => setTick((t) => t + 1), []) };
}

/** Loads again every `ms` while `running(data)` says something is under way (a job's run, a snapshot being taken). */
export function useRefreshWhile<T>(loaded: Loaded<T>, running: (data: T) => boolean, ms = 1500): void {
  useEffect(() => {
    if (loaded.loading || loaded.data === undefined || !running(loaded.data)) return;
    const timer = setTimeout(loaded.reload, ms);
    return () => clearTimeout(timer);
  }, [loaded.data, loaded.loading]);
}

/** Whether a run is still going: requested, or running. */
export const underWay = (runs: ReadonlyArray<{ status: string }>) => runs.some((r) => r.status === 'requested' || r.status === 'running');

/** A form whose submit runs `action`; what it throws is shown under it, with the fields at fault. */
export function ActionForm({ action, children }: { action: () => Promise<void>; children: ComponentChildren }) {
  const [error, setError] = useState<Error>();
  return (
    <>
      <form
        class="row"
        onSubmit={async (e) => {
          e.preventDefault();
          setError(undefined);
          try {
            await action();
          } catch (err) {
            setError(err as Error);
          }
        }}
      >
        {children}
      </form>
      <ErrorBox error={error} />
    </>
  );
}

export function ErrorBox({ error }: { error?: Error }) {
  if (!error) return null;
  return (
    <div class="error" role="alert">
      <strong>
        {error instanceof ApiError ? `${error.status}: ` : ''}
        {error.message}
      </strong>
      {error instanceof ApiError && error.details.length > 0 && (
        <ul>
          {error.details.map((d) => (
            <li>
              <code>{d.path}</code> {d.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Loading<T>({ loaded, children }: { loaded: Loaded<T>; children: (data: T) => ComponentChildren }) {
  if (loaded.error) return <ErrorBox error={loaded.error} />;
  if (loaded.data === undefined)
    return (
      <p class="muted" aria-busy="true">
        Loading…
      </p>
    );
  return <>{children(loaded.data)}</>;
}

/** Numbers and dates as the browser's language writes them. */
export const formatNumber = (n: number | undefined, options?: Intl.NumberFormatOptions) =>
  n === undefined ? '–' : n.toLocaleString(undefined, options);
export const formatDate = (iso: string | undefined) =>
  iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '–';
/** A UTC day (`2026-11-08`) as the browser's language writes it, whatever its time zone. */
export const formatDay = (day: string | undefined) =>
  day ? new Date(`${day}T00:00:00Z`).toLocaleDateString(undefined, { dateStyle: 'medium', timeZone: 'UTC' }) : '–';

export function Status({ value }: { value: string }) {
  return <span class={`status status-${value}`}>{value}</span>;
}

/** A JSON value shown as it is, for the parts of a record the page does not lay out. */
export const Json = ({ value }: { value: unknown }) => <pre class="json">{JSON.stringify(value, null, 2)}</pre>;
