/** What Prisme has seen (event names, their property keys, traits, a few values), read once a page for the builder's suggestions. */
import { useEffect, useState } from 'preact/hooks';
import { get } from './api';

export interface SeenEvent {
  name: string;
  count: number;
  lastSeen: string;
  properties: Array<{ key: string; samples: string[] }>;
}

export interface SeenTrait {
  name: string;
  count: number;
  lastSeen: string;
  samples: string[];
}

export interface Seen {
  events: SeenEvent[];
  traits: SeenTrait[];
}

const NOTHING: Seen = { events: [], traits: [] };
let loading: Promise<Seen> | undefined;

/** Fetched once per page load; suggestions are a help, so a failure leaves them empty. */
const loadSeen = (): Promise<Seen> =>
  (loading ??= Promise.all([get<{ events: SeenEvent[] }>('/v1/catalog/events'), get<{ traits: SeenTrait[] }>('/v1/catalog/traits')])
    .then(([{ events }, { traits }]) => ({ events, traits }))
    .catch(() => NOTHING));

export function useSeen(): Seen {
  const [seen, setSeen] = useState(NOTHING);
  useEffect(() => {
    void loadSeen().then(setSeen);
  }, []);
  return seen;
}
