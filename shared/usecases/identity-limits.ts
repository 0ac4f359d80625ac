/**
 * Identity limits that hold under concurrency. Reading what a profile holds and then claiming or
 * merging is a race: two processors each see room for one more userId and both take it. So the
 * limit-bearing identifiers of a profile are kept in its holdings (one small item), and room is taken
 * there by a conditional write before an identifier is claimed and before two profiles merge: of two
 * racers, the second sees the first, and is refused if the limit is reached.
 */

import { breaksLimits, heldForm, type Identifier, type IdentityConfig, limitOf } from '../domain/identity';
import { survivorOf } from '../domain/merge';
import { VersionConflictError } from '../errors';
import type { Holdings, IdentityStore } from '../ports/identities';
import type { ProfileStore } from '../ports/profiles';

export interface IdentityLimitsDeps {
  identities: Pick<IdentityStore, 'holdings' | 'putHoldings' | 'dropHoldings'>;
  profiles: Pick<ProfileStore, 'get'>;
  config: IdentityConfig;
}

const MAX_ATTEMPTS = 8;

/** What a reservation refused (their type is full), and what it took room for (the others were held already). */
export interface Reservation {
  refused: Identifier[];
  taken: Identifier[];
  /** The holdings the room was taken in (the profile's, or those it was joined into), and their `joins` then. */
  in?: { profileId: string; joins: number };
}

export class IdentityLimits {
  constructor(private readonly deps: IdentityLimitsDeps) {}

  limited(ids: readonly Identifier[]): Identifier[] {
    return ids.filter((id) => limitOf(id.type, this.deps.config) !== undefined);
  }

  /**
   * The holdings that count for a profile, following merges. A profile without any (written before
   * holdings existed, or holding no limited identifier yet) is read from its profile item.
   */
  async current(profileId: string): Promise<Holdings> {
    let id = profileId;
    for (let hops = 0; hops < 20; hops++) {
      const stored = await this.deps.identities.holdings(id);
      if (stored?.into) id = stored.into;
      else return stored ?? { profileId: id, version: 0, held: await this.seed(id) };
    }
    throw new Error(`holdings of ${profileId} lead through more than 20 merges`);
  }

  /**
   * Takes room for these identifiers in the profile's holdings; says which were refused (their type is
   * full) and which it took room for (a value held already is not taken again). `fresh`: a profile id made for this event, which nobody else can know yet: one blind write.
   * `required`: if one of these is refused, nothing is taken at all (the caller chose the profile on
   * holdings that have changed since, and resolves again).
   */
  async reserve(profileId: string, ids: readonly Identifier[], fresh = false, required: readonly Identifier[] = []): Promise<Reservation> {
    const wanted = this.limited(ids);
    if (wanted.length === 0) return { refused: [], taken: [] };
    let holdings: Holdings = { profileId, version: 0, held: {} };
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (attempt > 0 || !fresh) holdings = await this.current(profileId);
      const held = Object.fromEntries(Object.entries(holdings.held).map(([type, values]) => [type, [...values]]));
      const refused: Identifier[] = [];
      const taken: Identifier[] = [];
      for (const id of wanted) {
        const values = (held[id.type] ??= []);
        const hash = heldForm(id.type, id.value);
        if (values.includes(hash)) continue; // held already (a profile merged into this one has it): not taken here
        if (values.length >= limitOf(id.type, this.deps.config)!) refused.push(id);
        else {
          values.push(hash);
          taken.push(id);
        }
      }
      if (refused.some((id) => required.includes(id))) return { refused, taken: [] };
      if (taken.length === 0) return { refused, taken };
      if (await this.deps.identities.putHoldings({ ...holdings, version: holdings.version + 1, held }, holdings.version)) {
        return { refused, taken, in: { profileId: holdings.profileId, joins: holdings.joins ?? 0 } };
      }
    }
    throw new VersionConflictError(`holdings of ${profileId} kept changing`);
  }

  /**
   * Gives back room a reservation took (only what it says it took: a value held before stays) for
   * identifiers whose claim was lost to `winner`. Once the room is taken, the value may count for someone
   * else too, and then it stays: a concurrent reservation found it held and claimed it (the winner's
   * holdings are these), or the winner's holdings were joined into these (their union holds it once;
   * `joins` changed, even for a join half done, whose redirect is not written yet). The write is
   * conditional on the version these checks read. Left as it is after repeated conflicts, or when the
   * holdings were joined into others since: too much held only refuses more, never merges.
   */
  async release(reservation: Reservation, ids: readonly Identifier[], winner: string): Promise<void> {
    const given = ids.filter((id) => reservation.taken.includes(id)); // taken: limited types only
    const where = reservation.in;
    for (let attempt = 0; where && given.length > 0 && attempt < MAX_ATTEMPTS; attempt++) {
      const holdings = await this.current(where.profileId);
      if (holdings.profileId !== where.profileId || (holdings.joins ?? 0) !== where.joins) return;
      if ((await this.current(winner)).profileId === holdings.profileId) return;
      const held = Object.fromEntries(
        Object.entries(holdings.held).map(([type, values]) => [
          type,
          values.filter((v) => !given.some((id) => id.type === type && heldForm(id.type, id.value) === v)),
        ]),
      );
      if (
        JSON.stringify(held) === JSON.stringify(holdings.held) ||
        (await this.deps.identities.putHoldings({ ...holdings, version: holdings.version + 1, held }, holdings.version))
      )
        return;
    }
  }

  /** A fresh profile given up before anyone could know it. */
  async drop(profileId: string): Promise<void> {
    await this.deps.identities.dropHoldings([profileId]);
  }

  /**
   * Joins the holdings of two profiles, into the one that survives their merge, if their union keeps
   * every limit; false (nothing written) when it would not. The survivor's holdings are written first,
   * on their version, then the loser's redirected, on its version: one that changed meanwhile is
   * read again and the union checked again.
   */
  async join(a: string, b: string): Promise<boolean> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const [first, second] = await Promise.all([this.current(a), this.current(b)]);
      if (first.profileId === second.profileId) return true;
      const [survivor, loser] = survivorOf([first.profileId, second.profileId]) === first.profileId ? [first, second] : [second, first];
      const union = new Map<string, Set<string>>();
      for (const holdings of [survivor, loser])
        for (const [type, values] of Object.entries(holdings.held))
          for (const v of values) (union.get(type) ?? union.set(type, new Set()).get(type)!).add(v);
      if (breaksLimits(union, this.deps.config)) return false;
      const held = Object.fromEntries([...union].map(([type, values]) => [type, [...values]]));
      // Counted on the survivor's write itself: a lost claim that took room here sees it, even before the loser's redirect.
      if (
        !(await this.deps.identities.putHoldings(
          { ...survivor, version: survivor.version + 1, held, joins: (survivor.joins ?? 0) + 1 },
          survivor.version,
        ))
      )
        continue;
      if (
        await this.deps.identities.putHoldings({ ...loser, version: loser.version + 1, held: {}, into: survivor.profileId }, loser.version)
      )
        return true;
    }
    throw new VersionConflictError(`holdings of ${a} and ${b} kept changing`);
  }

  private async seed(profileId: string): Promise<Record<string, string[]>> {
    const identifiers = (await this.deps.profiles.get(profileId))?.identifiers ?? {};
    return Object.fromEntries(
      Object.entries(identifiers).flatMap(([type, values]) =>
        limitOf(type, this.deps.config) !== undefined && values?.length ? [[type, values.map((v) => heldForm(type, v))]] : [],
      ),
    );
  }
}
