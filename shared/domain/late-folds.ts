/**
 * Late events of a spec being backfilled. A new spec's live fold starts at its `receivedFrom`, and a
 * backfill adds from the raw event archive what was received before. But the queue does not keep
 * order: an event received before may still be queued or retried when the backfill reads the
 * archive, and it is archived only once its profile is written, so the backfill cannot find it. The
 * live fold takes such a late event too and notes its token on the profile, per spec; the backfill
 * skips the events noted. The other way round needs no note: whatever the backfill finds in the
 * archive was folded live into its profile before being archived, so a later delivery is a
 * redelivery, recognised by the profile's recent message ids.
 *
 * Notes are bounded (PROFILE_LIMITS.lateFolded tokens, all specs together: a late event beyond is
 * left to the backfill, as before there were notes) and kept only while a backfill may still read
 * the archive for their spec: until the spec holds every event, or until no run can still be going.
 * Pure.
 */
import type { CompiledSpec } from './aggregates';
import { holdsToken, TOKEN_CHARS } from './message-tokens';
import { emptyRecord } from './records';

/** Spec id -> [day index of the latest late fold, the tokens of the late events folded]. */
export type LateFolded = Record<string, [number, string]>;

interface Noting {
  lateFolded?: LateFolded;
}

/** A live event received before the spec's live fold starts: one its backfill may still read. */
export const isLate = (spec: Pick<CompiledSpec, 'receivedFrom'>, receivedAt: number): boolean =>
  spec.receivedFrom !== undefined && receivedAt < spec.receivedFrom;

export const hasLateFold = (holder: Noting, specId: string, token: string): boolean =>
  holdsToken(holder.lateFolded?.[specId]?.[1] ?? '', token);

const tokensNoted = (lateFolded: LateFolded): number =>
  Object.values(lateFolded).reduce((sum, [, tokens]) => sum + tokens.length / TOKEN_CHARS, 0);

/**
 * Notes that a late event is folded into the spec, in place: 'noted', or why it must not be folded
 * now, 'folded already' (a redelivery) or 'full' (the backfill takes it, if it finds it).
 */
export function noteLateFold(
  holder: Noting,
  specId: string,
  token: string,
  day: number,
  bound: number,
): 'noted' | 'folded already' | 'full' {
  if (hasLateFold(holder, specId, token)) return 'folded already';
  const lateFolded = (holder.lateFolded ??= emptyRecord());
  if (tokensNoted(lateFolded) >= bound) return 'full';
  const [latest, tokens] = lateFolded[specId] ?? [day, ''];
  lateFolded[specId] = [Math.max(latest, day), tokens + token];
  return 'noted';
}

/**
 * Drops, in place, the notes of specs that hold every event in this catalog (their backfill has
 * ended) and those older than `oldestDay` (no run can still be going). A spec absent from `specs` keeps
 * its notes: a processor's cached catalog may predate it.
 */
export function forgetLateFolds(holder: Noting, specs: readonly Pick<CompiledSpec, 'id' | 'receivedFrom'>[], oldestDay: number): void {
  const { lateFolded } = holder;
  if (!lateFolded) return;
  const whole = new Set(specs.filter((spec) => spec.receivedFrom === undefined).map((spec) => spec.id));
  for (const [specId, [day]] of Object.entries(lateFolded)) if (whole.has(specId) || day < oldestDay) delete lateFolded[specId];
  if (Object.keys(lateFolded).length === 0) delete holder.lateFolded;
}

/**
 * Adds the loser's notes to the survivor's, in place: both profiles' folds are now the survivor's. Not
 * cut to the bound: a note dropped would let the backfill count its event a second time.
 */
export function mergeLateFolds(into: Noting, from: Noting): void {
  for (const [specId, [day, tokens]] of Object.entries(from.lateFolded ?? {})) {
    const lateFolded = (into.lateFolded ??= emptyRecord());
    const [latest, mine] = lateFolded[specId] ?? [day, ''];
    let union = mine;
    for (let i = 0; i < tokens.length; i += TOKEN_CHARS) {
      const token = tokens.slice(i, i + TOKEN_CHARS);
      if (!holdsToken(union, token)) union += token;
    }
    lateFolded[specId] = [Math.max(latest, day), union];
  }
}
