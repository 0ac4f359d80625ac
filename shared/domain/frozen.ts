/**
 * Frozen indicators: computed once a day over the whole population, stored as they
 * are (seed 001). Augmented RFM quintiles and labels, churn risk, behavioural
 * clusters. The freeze runs in two passes over the profiles, each fanned out over
 * parallel scan segments: `measure` feeds mergeable accumulators (quantile sketches,
 * moments, a reservoir sample), `fitModel` turns their union into boundaries and
 * clusters, `score` gives each profile its values. Pure: no I/O.
 */
import { DDSketch } from '@datadog/sketches-js';
import { keyParts, specKey, timesKey, VALUE_STRIDE } from './aggregates';
import { CLUSTER_FEATURES, type ClusterModel, fitClusters, nearestCluster } from './clustering';

export { CLUSTER_FEATURES };

import { isSpecKey } from './buckets';
import { interestsAt } from './categories';
import { CustomerBaseMeasure, type CustomerBaseModel, fitCustomerBase, type SerialisedCustomerBase } from './customer-base';
import { customerValue } from './customer-value';
import { CHANNELS } from './events';
import { RFM_LABELS } from './indicator-settings';
import type { IndicatorModel } from './indicators';
import { type CustomerHistory, historyOf } from './order-tally';
import type { Profile } from './profile';
import { emptyRecord, own, recordFrom } from './records';
import { DAY_MS, dayIndex } from './time';

export { RFM_LABELS };
export type RfmLabel = (typeof RFM_LABELS)[number];

/** What the freeze reads off one profile. */
export interface ProfileFeatures {
  /** Days since the last significant interaction, online or offline. */
  recencyDays: number;
  /** Significant interactions in the window: orders, store visits, events, calls, clicks... */
  frequency: number;
  /** Revenue in the window, plus the weighted potential value (quotes, carts, configurations). */
  monetary: number;
  orders: number;
  /** Days between the first and the last order in the window; 0 with one order. */
  orderSpanDays: number;
  daysSinceLastOrder?: number;
  /** Raw cluster features, CLUSTER_FEATURES order. */
  vector: number[];
  /** Interest per category now, strongest first. */
  categories: Array<[string, number]>;
  /** The customer's whole order history as the customer-base models read it; absent for prospects. */
  customer?: CustomerHistory;
}

/** Features of a profile as of `now`; undefined for a profile with no significant interaction. */
export function featuresOf(profile: Profile, now: number, model: IndicatorModel): ProfileFeatures | undefined {
  const { settings, aggregates } = model;
  const today = dayIndex(now);
  const firstDay = today - settings.rfm.windowDays + 1;
  const insignificant = new Set(settings.significant.except);
  const online = new Set<string>(settings.channel_affinity.online);
  let lastSignificant = -Infinity;
  let frequency = 0;
  let orders = 0;
  let storeOrders = 0;
  let onlineOrders = 0;
  let emailEngagement = 0;
  let firstOrderDay = Infinity;
  let lastOrderDay = -Infinity;
  for (const [key, buckets] of Object.entries(profile.aggregates)) {
    if (isSpecKey(key)) continue; // filtered, valued and timed aggregates: the plain counts are read here
    const { event, channel } = keyParts(key);
    const significant = !insignificant.has(event);
    const purchase = event === settings.purchases.event;
    const email = channel === 'email';
    for (let i = 0; i < buckets.length && buckets[i]! >= firstDay; i += 2) {
      const [day, count] = [buckets[i]!, buckets[i + 1]!];
      if (significant) frequency += count;
      if (email) emailEngagement += count;
      if (purchase) {
        orders += count;
        if (channel === 'store') storeOrders += count;
        else if (online.has(channel)) onlineOrders += count;
        firstOrderDay = Math.min(firstOrderDay, day);
        lastOrderDay = Math.max(lastOrderDay, day);
      }
    }
    if (significant && buckets.length > 0) lastSignificant = Math.max(lastSignificant, buckets[0]!);
  }
  // Instants outlive the buckets' horizon: a customer silent for longer is still measured, as lost.
  for (const [key, [, last]] of Object.entries(profile.performed ?? {}))
    if (!insignificant.has(keyParts(key).event)) lastSignificant = Math.max(lastSignificant, Math.min(today, dayIndex(last * 1000)));
  const customer = historyOf(profile.orders, today);
  if (lastSignificant === -Infinity && !customer) return undefined;
  if (lastSignificant === -Infinity) lastSignificant = today - customer!.TDays + customer!.txDays;

  const sumOf = (specId: string, event: string) => {
    let sum = 0;
    for (const channel of CHANNELS) {
      const buckets = profile.aggregates[specKey({ id: specId, event }, channel)];
      for (let i = 0; buckets && i < buckets.length && buckets[i]! >= firstDay; i += VALUE_STRIDE) sum += buckets[i + 2]!;
    }
    return sum;
  };
  let monetary = sumOf(aggregates.revenue.id, aggregates.revenue.event);
  for (const { spec, weight } of aggregates.potential) monetary += weight * sumOf(spec.id, spec.event);

  // Order instants are exact for orders folded since the definition existed; day buckets otherwise.
  const instants = profile.aggregates[timesKey(aggregates.purchaseTimes)];
  const lastOrder = instants?.[0] !== undefined ? instants[0] * 1000 : lastOrderDay > -Infinity ? (lastOrderDay + 0.5) * DAY_MS : undefined;
  const values = model.valuesOf(profile, now);
  const recencyDays = Math.max(0, today - lastSignificant);
  return {
    recencyDays,
    frequency,
    monetary: Math.round(monetary * 100) / 100,
    orders,
    orderSpanDays: orders > 1 ? lastOrderDay - firstOrderDay : 0,
    daysSinceLastOrder: lastOrder === undefined ? undefined : Math.max(0, (now - lastOrder) / DAY_MS),
    categories: interestsAt(profile, now, settings.categories.halfLifeDays),
    ...(customer && { customer }),
    vector: [
      recencyDays,
      frequency,
      monetary,
      (values.online_share as number | undefined) ?? 0.5,
      (values.engagement_score as number | undefined) ?? 0,
      storeOrders,
      onlineOrders,
      emailEngagement,
    ],
  };
}

/** Skewed counts and amounts are compared on a log scale, so a few big spenders do not make the clusters. */
export const clusterInput = (vector: readonly number[]): number[] =>
  vector.map((v, i) => (CLUSTER_FEATURES[i] === 'online_share' ? v : Math.log1p(Math.max(0, v))));

const RELATIVE_ACCURACY = 0.01;
const newSketch = () => new DDSketch({ relativeAccuracy: RELATIVE_ACCURACY });

/** Mergeable summary of a part of the population; one per scan segment, then merged. */
export class Measure {
  profiles = 0;
  recency = newSketch();
  frequency = newSketch();
  monetary = newSketch();
  /** Purchase rates (orders per day) of customers with at least two orders, for the population prior. */
  rate = newSketch();
  /** Welford moments of the cluster inputs. */
  count = 0;
  mean: number[] = CLUSTER_FEATURES.map(() => 0);
  m2: number[] = CLUSTER_FEATURES.map(() => 0);
  /** Reservoir sample of cluster inputs; `seen` is how many it was drawn from. */
  seen = 0;
  sample: number[][] = [];
  /** Interest per category summed over the population, for each person's lift. */
  categories = emptyRecord<number>();
  /** Every customer's order history, for the customer-base models. */
  customerBase = new CustomerBaseMeasure();

  constructor(
    readonly sampleSize: number,
    private readonly random: () => number,
  ) {}

  add(features: ProfileFeatures): void {
    this.profiles++;
    this.recency.accept(features.recencyDays);
    this.frequency.accept(features.frequency);
    this.monetary.accept(features.monetary);
    if (features.orders > 1 && features.orderSpanDays > 0) this.rate.accept((features.orders - 1) / features.orderSpanDays);
    for (const [name, interest] of features.categories) this.categories[name] = (own(this.categories, name) ?? 0) + interest;
    if (features.customer) this.customerBase.add(features.customer);
    const input = clusterInput(features.vector);
    this.count++;
    input.forEach((x, i) => {
      const delta = x - this.mean[i]!;
      this.mean[i]! += delta / this.count;
      this.m2[i]! += delta * (x - this.mean[i]!);
    });
    this.seen++;
    if (this.sample.length < this.sampleSize) this.sample.push(input);
    else {
      const slot = Math.floor(this.random() * this.seen);
      if (slot < this.sampleSize) this.sample[slot] = input;
    }
  }

  merge(other: Measure): void {
    this.profiles += other.profiles;
    this.recency.merge(other.recency);
    this.frequency.merge(other.frequency);
    this.monetary.merge(other.monetary);
    this.rate.merge(other.rate);
    for (const [name, interest] of Object.entries(other.categories)) this.categories[name] = (own(this.categories, name) ?? 0) + interest;
    this.customerBase.merge(other.customerBase);
    // Chan et al.'s parallel update of mean and M2.
    const n = this.count + other.count;
    if (other.count > 0) {
      this.mean = this.mean.map((mean, i) => {
        const delta = other.mean[i]! - mean;
        this.m2[i] = this.m2[i]! + other.m2[i]! + (delta * delta * this.count * other.count) / n;
        return mean + (delta * other.count) / n;
      });
    }
    this.count = n;
    // Reservoirs merge by drawing from each in proportion to what it was drawn from.
    const seen = this.seen + other.seen;
    const take = (from: number[][], share: number) => shuffled(from, this.random).slice(0, Math.round(share));
    const size = Math.min(this.sampleSize, this.sample.length + other.sample.length);
    this.sample =
      seen === 0 ? [] : [...take(this.sample, (size * this.seen) / seen), ...take(other.sample, (size * other.seen) / seen)].slice(0, size);
    this.seen = seen;
  }

  toJSON(): SerialisedMeasure {
    const sketch = (s: DDSketch) => Buffer.from(s.toProto()).toString('base64');
    return {
      profiles: this.profiles,
      recency: sketch(this.recency),
      frequency: sketch(this.frequency),
      monetary: sketch(this.monetary),
      rate: sketch(this.rate),
      count: this.count,
      mean: this.mean,
      m2: this.m2,
      seen: this.seen,
      sample: this.sample.map((v) => v.map((x) => Math.round(x * 1e4) / 1e4)),
      // Bounded: the most popular categories (a long tail adds nothing to a lift).
      categories: Object.fromEntries(
        Object.entries(this.categories)
          .sort((a, b) => b[1] - a[1])
          .slice(0, MAX_CATEGORIES),
      ),
    };
  }

  /** `customers`: the customer base's rows, stored apart (they can take most of an item's 400 KB). */
  static fromJSON(json: SerialisedMeasure, sampleSize: number, random: () => number, customers?: SerialisedCustomerBase): Measure {
    const measure = new Measure(sampleSize, random);
    const sketch = (b64: string) => DDSketch.fromProto(Buffer.from(b64, 'base64'));
    Object.assign(measure, {
      profiles: json.profiles,
      recency: sketch(json.recency),
      frequency: sketch(json.frequency),
      monetary: sketch(json.monetary),
      rate: sketch(json.rate),
      count: json.count,
      mean: json.mean,
      m2: json.m2,
      seen: json.seen,
      sample: json.sample,
      categories: recordFrom(Object.entries(json.categories)),
      customerBase: customers ? CustomerBaseMeasure.fromJSON(customers) : new CustomerBaseMeasure(),
    });
    return measure;
  }
}

export interface SerialisedMeasure {
  profiles: number;
  recency: string;
  frequency: string;
  monetary: string;
  rate: string;
  count: number;
  mean: number[];
  m2: number[];
  seen: number;
  sample: number[][];
  categories: Record<string, number>;
}

const MAX_CATEGORIES = 500;

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

/** Deterministic pseudo-random numbers (mulberry32), so a freeze run is reproducible from its id. */
export function seededRandom(seed: string): () => number {
  let state = 0;
  for (let i = 0; i < seed.length; i++) state = (Math.imul(state, 31) + seed.charCodeAt(i)) | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** What the score pass needs, fitted once from the merged measures. */
export interface FreezeModel {
  profiles: number;
  /** Quintile boundaries (20th, 40th, 60th and 80th percentiles). */
  boundaries: { recency: number[]; frequency: number[]; monetary: number[] };
  /** Median purchase rate (orders per day) of repeat customers: the prior of each customer's rate. */
  populationRate: number;
  clusters?: ClusterModel;
  /** Each category's share of everyone's interest. */
  categoryShares: Record<string, number>;
  /** BG/NBD and Gamma-Gamma fitted on every customer; absent with too few customers (the prior churn risk stands). */
  customerBase?: CustomerBaseModel;
  /** Why there is no customerBase. */
  customerBaseUnfitted?: string;
}

const QUINTILES = [0.2, 0.4, 0.6, 0.8];

export function fitModel(measure: Measure, model: IndicatorModel, random: () => number): FreezeModel {
  const quintiles = (sketch: DDSketch) => (sketch.count === 0 ? [0, 0, 0, 0] : QUINTILES.map((q) => sketch.getValueAtQuantile(q)));
  const std = measure.m2.map((m2) => (measure.count > 1 ? Math.sqrt(m2 / (measure.count - 1)) : 0));
  return {
    profiles: measure.profiles,
    boundaries: { recency: quintiles(measure.recency), frequency: quintiles(measure.frequency), monetary: quintiles(measure.monetary) },
    // Without repeat customers yet: one order every 90 days.
    populationRate: measure.rate.count > 0 ? measure.rate.getValueAtQuantile(0.5) : 1 / 90,
    clusters: fitClusters(measure.sample, { mean: measure.mean, std }, model.settings.clusters, random),
    categoryShares: shares(measure.categories),
    ...customerBaseOf(fitCustomerBase(measure.customerBase, model.settings.customer_value)),
  };
}

const customerBaseOf = (fit: ReturnType<typeof fitCustomerBase>): Pick<FreezeModel, 'customerBase' | 'customerBaseUnfitted'> =>
  'unfitted' in fit ? { customerBaseUnfitted: fit.unfitted } : { customerBase: fit };

/** The frozen values of one profile, stored outside the hot item. */
export interface FrozenValues {
  rfm_recency_score: number;
  rfm_frequency_score: number;
  rfm_monetary_score: number;
  rfm_score: string;
  rfm_label: RfmLabel;
  /** The RFM inputs (recency is the dynamic days_since_significant_interaction: it moves every day). */
  frequency: number;
  monetary: number;
  /** Probability (0-1) that a customer will not buy again; absent for prospects. */
  churn_risk?: number;
  /** From the fitted customer-base models, for customers once there are enough of them. */
  p_alive?: number;
  expected_orders_30d?: number;
  expected_orders_90d?: number;
  predicted_clv_12m?: number;
  cluster?: number;
  favourite_category?: string;
  favourite_category_lift?: number;
}

const shares = (interests: Record<string, number>): Record<string, number> => {
  const total = Object.values(interests).reduce((a, b) => a + b, 0);
  return total > 0 ? Object.fromEntries(Object.entries(interests).map(([name, v]) => [name, v / total])) : {};
};

/**
 * Appetite for a category: the one whose share of this person's interest most exceeds its share of
 * everyone's (the lift), if it is at least 1.2 and the category holds a fifth of their interest.
 */
export function favouriteCategory(
  categories: ReadonlyArray<[string, number]>,
  population: Record<string, number>,
): { category: string; lift: number } | undefined {
  const mine = shares(Object.fromEntries(categories));
  let best: { category: string; lift: number } | undefined;
  for (const [category, share] of Object.entries(mine)) {
    const everyone = own(population, category);
    if (!everyone || share < 0.2) continue;
    const lift = share / everyone;
    if (lift >= 1.2 && (!best || lift > best.lift)) best = { category, lift: Math.round(lift * 100) / 100 };
  }
  return best;
}

/** 1 to 5: how many boundaries the value passes (ties go to the lower quintile, by the sketch's 1 %). */
const quintileScore = (value: number, boundaries: readonly number[]) =>
  1 + boundaries.filter((b) => value > b * (1 + RELATIVE_ACCURACY)).length;

/** The usual RFM map from recency and the average of frequency and monetary. */
export function rfmLabel(r: number, fm: number): RfmLabel {
  if (r >= 4 && fm >= 4) return 'champions';
  if (r >= 5 && fm <= 1) return 'new_customers';
  if (r >= 3 && fm >= 3) return 'loyal';
  if (r >= 4 && fm >= 2) return 'potential_loyalists';
  if (r >= 4) return 'promising';
  if (r === 3) return 'about_to_sleep';
  if (fm >= 5) return 'cannot_lose_them';
  if (fm >= 3) return 'at_risk';
  if (fm === 2) return 'hibernating';
  return 'lost';
}

/**
 * Churn risk, after BG/NBD (Fader, Hardie & Lee, 2005) with individual parameters: while alive, a
 * customer buys at rate λ (their own rate, shrunk towards the population's by a Gamma prior of
 * `priorOrders` pseudo-orders); after each purchase they may drop out for good with probability p.
 * Silent for t days since the last order, P(alive) = (1-p)e^(-λt) / ((1-p)e^(-λt) + p); the risk is
 * 1 - P(alive). One-time buyers take the population's rate.
 */
export function churnRisk(
  features: ProfileFeatures,
  populationRate: number,
  settings: IndicatorModel['settings']['churn'],
): number | undefined {
  if (features.orders === 0 || features.daysSinceLastOrder === undefined) return undefined;
  const repeats = features.orders - 1;
  const rate = (repeats + settings.priorOrders) / (features.orderSpanDays + settings.priorOrders / populationRate);
  const p = settings.dropoutProbability;
  const stillBuying = (1 - p) * Math.exp(-rate * features.daysSinceLastOrder);
  // Two decimals: finer would rewrite every customer's frozen item every day for nothing.
  return Math.round((1 - stillBuying / (stillBuying + p)) * 100) / 100;
}

/**
 * What the fitted models say of a customer. Two decimals (cents for the value): finer would rewrite
 * every customer's frozen item every day for nothing.
 */
function predictions(
  features: ProfileFeatures,
  freeze: FreezeModel,
  model: IndicatorModel,
): Pick<FrozenValues, 'p_alive' | 'churn_risk' | 'expected_orders_30d' | 'expected_orders_90d' | 'predicted_clv_12m'> | undefined {
  const fitted = freeze.customerBase;
  if (!fitted || !features.customer) return undefined;
  const { x, txDays, TDays, averageValue } = features.customer;
  const history = { x, tx: txDays / 7, T: TDays / 7, ...(averageValue !== undefined && { averageValue }) };
  const value = customerValue(fitted, history, model.settings.customer_value.annualDiscountRate);
  const round = (n: number) => Math.round(n * 100) / 100;
  const pAlive = round(value.pAlive);
  return {
    p_alive: pAlive,
    churn_risk: round(1 - pAlive),
    expected_orders_30d: round(value.expectedOrders30d),
    expected_orders_90d: round(value.expectedOrders90d),
    ...(value.predictedClv12m !== undefined && { predicted_clv_12m: round(value.predictedClv12m) }),
  };
}

export function scoreProfile(features: ProfileFeatures, freeze: FreezeModel, model: IndicatorModel): FrozenValues {
  const { boundaries } = freeze;
  // Recency: fewer days is better, so the score is reversed.
  const r = 6 - quintileScore(features.recencyDays, boundaries.recency);
  const f = quintileScore(features.frequency, boundaries.frequency);
  const m = quintileScore(features.monetary, boundaries.monetary);
  const predicted = predictions(features, freeze, model);
  const churn = predicted?.churn_risk ?? churnRisk(features, freeze.populationRate, model.settings.churn);
  const cluster = freeze.clusters ? nearestCluster(freeze.clusters, clusterInput(features.vector)) : undefined;
  const favourite = favouriteCategory(features.categories, freeze.categoryShares ?? {});
  return {
    rfm_recency_score: r,
    rfm_frequency_score: f,
    rfm_monetary_score: m,
    rfm_score: `${r}${f}${m}`,
    rfm_label: rfmLabel(r, Math.round((f + m) / 2)),
    frequency: features.frequency,
    monetary: features.monetary,
    ...predicted,
    ...(churn !== undefined && { churn_risk: churn }),
    ...(cluster !== undefined && { cluster }),
    ...(favourite && { favourite_category: favourite.category, favourite_category_lift: favourite.lift }),
  };
}
