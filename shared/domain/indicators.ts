/**
 * Dynamic indicators: figures about a person that Prisme keeps current as events
 * arrive (orders and revenue per channel, engagement score with freshness decay,
 * channel affinity, intent and lifecycle stages). They are read off the state the
 * profile already keeps (daily buckets per event and channel, plus the valued and
 * timed aggregates their definitions ask for), at the time of reading: no replay,
 * no extra bytes in the hot item, and a changed weight or half-life applies at once.
 * Their definitions are in `indicator-settings.ts`. Pure.
 */
import {
  type AggregateSpec,
  aggregateSpec,
  isTimesKey,
  keyParts,
  occurrenceSpec,
  type PropertyFilter,
  timesKey,
  VALUE_STRIDE,
} from './aggregates';
import { aggregateKey, isSpecKey } from './buckets';
import { type CategoryRule, interestsAt } from './categories';
import { CHANNELS, type Channel } from './events';
import { type IndicatorDefinition, type IndicatorSettings, type IntentStage, type LifecycleStage, settingsOf } from './indicator-settings';
import type { Profile } from './profile';
import { emptyRecord, own } from './records';
import { DAY_MS, dayIndex } from './time';

/** Indicator values of one profile at one instant: `orders`, `orders|store`, `lifecycle_stage`, ... */
export type IndicatorValues = Readonly<Record<string, number | string | undefined>>;

/** Definitions compiled once per catalog: the aggregates they need folded, and how to read the values. */
export interface IndicatorModel {
  settings: IndicatorSettings;
  /** How events feed the per-category interest kept on profiles. */
  categoryRule: CategoryRule;
  /** The aggregates the freeze reads: order revenue, order instants, potential value. */
  aggregates: { revenue: AggregateSpec; purchaseTimes: AggregateSpec; potential: Array<{ spec: AggregateSpec; weight: number }> };
  /** Moves whenever any definition changes, so stage segments get a new revision. */
  revision: number;
  specs: AggregateSpec[];
  valuesOf(profile: Profile, now: number): IndicatorValues;
}

const decay = (ageDays: number, halfLife: number) => 0.5 ** (Math.max(0, ageDays) / halfLife);

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

export function compileIndicators(definitions: readonly IndicatorDefinition[] = []): IndicatorModel {
  const { settings, revision } = settingsOf(definitions);
  const { purchases, significant, engagement, channel_affinity: affinity, intent, lifecycle } = settings;
  const revenueSpec = aggregateSpec(purchases.event, [], purchases.revenueProperty);
  const purchaseTimes = occurrenceSpec(purchases.event);
  const potential = settings.rfm.potentialValue.map((p) => ({ spec: aggregateSpec(p.event, [], p.property), weight: p.weight }));
  const signalSpecs = intent.signals.map((signal) => ({
    ...signal,
    spec: signal.where ? aggregateSpec(signal.event, signal.where as PropertyFilter[]) : undefined,
  }));
  const insignificant = new Set(significant.except);
  const online = new Set<string>(affinity.online);
  const offline = new Set<string>(affinity.offline);

  const valuesOf = (profile: Profile, now: number): IndicatorValues => {
    const today = now / DAY_MS;
    // Days are bucketed by their first instant; an occurrence is taken at the middle of its bucket's day.
    const age = (day: number) => today - (day + 0.5);
    // Per channel as read from aggregate keys, which hold event names a client chose.
    const orders = emptyRecord<number>();
    const revenue = emptyRecord<number>();
    const priced = emptyRecord<number>();
    let lastPurchaseDay = -Infinity;
    let lastSignificantDay = -Infinity;
    let score = 0;
    let onlineWeight = 0;
    let offlineWeight = 0;
    const signalDays = new Map<string, number>();
    const firstIntentDay = dayIndex(now) - intent.withinDays + 1;

    for (const [key, buckets] of Object.entries(profile.aggregates)) {
      if (isTimesKey(key)) continue;
      const { event, channel: keyChannel, specId } = keyParts(key);
      const channel = keyChannel as Channel;
      if (isSpecKey(key)) {
        if (specId === revenueSpec.id) {
          for (let i = 0; i < buckets.length; i += VALUE_STRIDE) {
            revenue[channel] = (revenue[channel] ?? 0) + buckets[i + 2]!;
            priced[channel] = (priced[channel] ?? 0) + buckets[i + 1]!;
          }
        }
        for (const signal of signalSpecs) {
          if (signal.spec?.id === specId && (!signal.channel || signal.channel === channel) && buckets[0]! >= firstIntentDay) {
            signalDays.set(signal.id, Math.max(signalDays.get(signal.id) ?? -Infinity, buckets[0]!));
          }
        }
        continue;
      }
      const latest = buckets[0]!;
      let count = 0;
      let weight = 0;
      const signal = own(engagement.signals, event);
      for (let i = 0; i < buckets.length; i += 2) {
        count += buckets[i + 1]!;
        weight += buckets[i + 1]! * decay(age(buckets[i]!), affinity.halfLifeDays);
        if (signal) score += signal.points * buckets[i + 1]! * decay(age(buckets[i]!), signal.halfLifeDays);
      }
      if (event === purchases.event) {
        orders[channel] = (orders[channel] ?? 0) + count;
        lastPurchaseDay = Math.max(lastPurchaseDay, latest);
      }
      if (!insignificant.has(event)) lastSignificantDay = Math.max(lastSignificantDay, latest);
      if (online.has(channel)) onlineWeight += weight;
      if (offline.has(channel)) offlineWeight += weight;
      for (const s of signalSpecs) {
        if (!s.spec && s.event === event && (!s.channel || s.channel === channel) && latest >= firstIntentDay) {
          signalDays.set(s.id, Math.max(signalDays.get(s.id) ?? -Infinity, latest));
        }
      }
    }

    const values: Record<string, number | string | undefined> = { last_seen: profile.lastSeen };
    const total = (record: Record<string, number>) => Object.values(record).reduce((a, b) => a + b, 0);
    for (const channel of [undefined, ...CHANNELS]) {
      const suffix = channel ? `|${channel}` : '';
      const o = channel ? (orders[channel] ?? 0) : total(orders);
      const r = channel ? (revenue[channel] ?? 0) : total(revenue);
      const p = channel ? (priced[channel] ?? 0) : total(priced);
      values[`orders${suffix}`] = o;
      values[`revenue${suffix}`] = round(r, 2);
      values[`average_order_value${suffix}`] = p > 0 ? round(r / p, 2) : undefined;
    }
    const timed = profile.aggregates[timesKey(purchaseTimes)]?.[0];
    values.last_purchase =
      timed !== undefined
        ? new Date(timed * 1000).toISOString()
        : lastPurchaseDay > -Infinity
          ? new Date(lastPurchaseDay * DAY_MS).toISOString()
          : undefined;
    values.days_since_significant_interaction =
      lastSignificantDay > -Infinity ? Math.max(0, dayIndex(now) - lastSignificantDay) : undefined;
    values.engagement_score = round(score, 1);
    const weighed = onlineWeight + offlineWeight;
    const share = weighed > 0 ? onlineWeight / weighed : undefined;
    values.online_share = share === undefined ? undefined : round(share, 3);
    values.channel_affinity = share === undefined ? 'unknown' : share >= 0.8 ? 'online' : share <= 0.2 ? 'offline' : 'omnichannel';
    const signals = signalDays.size;
    values.intent_signals = signals;
    const intentStage: IntentStage =
      signals >= intent.stages.high
        ? 'high'
        : signals >= intent.stages.consideration
          ? 'consideration'
          : signals >= intent.stages.exploration
            ? 'exploration'
            : 'none';
    values.intent_stage = intentStage;
    const lastPurchase = values.last_purchase ? Date.parse(values.last_purchase as string) : undefined;
    let stage: LifecycleStage;
    if (lastPurchase !== undefined) stage = now - lastPurchase > lifecycle.atRiskAfterDays * DAY_MS ? 'at_risk' : 'customer';
    else if (intentStage === 'high' || score >= lifecycle.hotScore) stage = 'hot_prospect';
    else if (intentStage === 'consideration' || score >= lifecycle.warmScore) stage = 'warm_prospect';
    else stage = 'cold_prospect';
    values.lifecycle_stage = stage;
    values.top_category = interestsAt(profile, now, settings.categories.halfLifeDays)[0]?.[0];
    return values;
  };

  return {
    settings,
    revision,
    aggregates: { revenue: revenueSpec, purchaseTimes, potential },
    categoryRule: settings.categories,
    specs: [revenueSpec, purchaseTimes, ...potential.map((p) => p.spec), ...signalSpecs.flatMap((s) => (s.spec ? [s.spec] : []))],
    valuesOf,
  };
}

/** Values worth showing: those defined, and per-channel figures only for channels with orders. */
export function presentIndicators(values: IndicatorValues): Record<string, number | string> {
  const shown: Record<string, number | string> = {};
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue;
    const channel = key.split('|')[1];
    if (channel !== undefined && !values[`orders|${channel}`]) continue;
    shown[key] = value;
  }
  return shown;
}

/** The key of a value in IndicatorValues: `revenue|store` for a per-channel figure. */
export const indicatorKey = (indicator: string, channel?: Channel): string => (channel ? `${indicator}|${channel}` : indicator);

/** Stage segment ids: `lifecycle-hot-prospect`, `intent-high`. */
export const STAGE_INDICATORS = { lifecycle_stage: 'lifecycle', intent_stage: 'intent' } as const;

export const stageSegmentId = (indicator: keyof typeof STAGE_INDICATORS, value: string): string =>
  `${STAGE_INDICATORS[indicator]}-${value.replaceAll('_', '-')}`;

/**
 * Whether the profile ordered after `since` (epoch ms): from the order instants when they cover that
 * time, else from the daily buckets (an order on a later day).
 */
export function orderedSince(profile: Profile, since: number, model: IndicatorModel): boolean {
  const instants = profile.aggregates[timesKey(model.aggregates.purchaseTimes)];
  if (instants?.[0] !== undefined && instants[0] * 1000 > since) return true;
  const firstDay = dayIndex(since) + 1;
  for (const channel of CHANNELS) {
    const buckets = profile.aggregates[aggregateKey(model.settings.purchases.event, channel)];
    if (buckets && buckets.length > 0 && buckets[0]! >= firstDay) return true;
  }
  return false;
}
