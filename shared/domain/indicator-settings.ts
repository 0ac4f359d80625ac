/**
 * Which indicators exist (dynamic ones kept current as events arrive, frozen ones computed daily) and
 * their definitions: data, validated here with their defaults, stored in the catalog by revision so a
 * marketer can change a weight, a half-life or a stage threshold. Pure.
 */
import { z } from 'zod';
import { propertyFilterSchema } from './aggregates';
import { CHANNELS } from './events';

const eventName = z.string().min(1).max(200);

const channelList = z.array(z.enum(CHANNELS)).max(CHANNELS.length);

const halfLifeDays = z.number().positive().max(3650);

/** The settings of each family of indicators, with the defaults Prisme ships (seeds 000, 001 and 004). */
export const definitionSchemas = {
  purchases: z.strictObject({
    /** The event that records an order, online or offline. */
    event: eventName,
    /** Its property holding the order's amount. */
    revenueProperty: z.string().min(1).max(200),
  }),
  significant: z.strictObject({
    /** Every behaviour is a significant interaction (online or offline) except these. */
    except: z.array(eventName).max(100),
  }),
  engagement: z.strictObject({
    /** Points per occurrence and how fast they fade: after one half-life an occurrence counts half. */
    signals: z
      .record(eventName, z.strictObject({ points: z.number().min(-1000).max(1000), halfLifeDays }))
      .refine((s) => Object.keys(s).length <= 50, 'at most 50 signals'),
  }),
  channel_affinity: z.strictObject({
    halfLifeDays,
    online: channelList,
    offline: channelList,
  }),
  intent: z.strictObject({
    /** A signal counts while it happened within this many days. */
    withinDays: z.number().int().min(1).max(400),
    signals: z
      .array(
        z.strictObject({
          id: z.string().regex(/^[a-z0-9_]{1,64}$/, 'must be lower-case letters, digits and _'),
          label: z.string().max(200).optional(),
          event: eventName,
          channel: z.enum(CHANNELS).optional(),
          where: z.array(propertyFilterSchema).min(1).max(10).optional(),
        }),
      )
      .max(20),
    /** Distinct signals needed for each stage, from the strongest down. */
    stages: z
      .strictObject({ high: z.number().int().min(1), consideration: z.number().int().min(1), exploration: z.number().int().min(1) })
      .refine((s) => s.high > s.consideration && s.consideration > s.exploration, 'must satisfy high > consideration > exploration'),
  }),
  lifecycle: z.strictObject({
    /** Engagement score from which a prospect is warm, and hot. */
    warmScore: z.number(),
    hotScore: z.number(),
    /** A customer whose last purchase is older than this is at risk. */
    atRiskAfterDays: z.number().int().min(1).max(400),
  }),
  categories: z.strictObject({
    /** The event property that names a product category. */
    property: z.string().min(1).max(200),
    /** Interest per occurrence of each behaviour carrying a category. */
    weights: z.record(eventName, z.number().positive().max(1000)).refine((w) => Object.keys(w).length <= 20, 'at most 20 behaviours'),
    halfLifeDays,
    /** Categories remembered per profile (the strongest). */
    maxPerProfile: z.number().int().min(1).max(20),
  }),
  rfm: z.strictObject({
    /** Frequency and monetary value look back this far. */
    windowDays: z.number().int().min(7).max(400),
    /** Potential value counted in monetary (seed 000): a share of quotes, carts and configurations. */
    potentialValue: z
      .array(z.strictObject({ event: eventName, property: z.string().min(1).max(200), weight: z.number().min(0).max(1) }))
      .max(10),
  }),
  /** The prior churn risk, used until there are enough customers to fit the customer-base models (see customer_value). */
  churn: z.strictObject({
    /** Chance that a customer never comes back after a purchase (BG/NBD's p). */
    dropoutProbability: z.number().gt(0).lt(1),
    /** Weight of the population's purchase rate in each customer's (pseudo-orders of a Gamma prior). */
    priorOrders: z.number().min(0).max(100),
  }),
  customer_value: z.strictObject({
    /** Future revenue is discounted at this annual rate in the 12-month customer value. */
    annualDiscountRate: z.number().min(0).max(1),
    /** The models are fitted once there are this many customers, this many of them repeat customers; until then churn risk uses the prior above. */
    minCustomers: z.number().int().min(10).max(1_000_000),
    minRepeatCustomers: z.number().int().min(5).max(1_000_000),
  }),
  clusters: z
    .strictObject({
      minK: z.number().int().min(2).max(12),
      maxK: z.number().int().min(2).max(12),
      /** Reduce the features with PCA (components explaining 90 % of the variance) before K-means. */
      pca: z.boolean(),
      /** Profiles sampled (reservoir, across workers) to fit the clusters. */
      sampleSize: z.number().int().min(100).max(20_000),
    })
    .refine((c) => c.minK <= c.maxK, { path: ['maxK'], message: 'must be at least minK' }),
} as const;

export type DefinitionId = keyof typeof definitionSchemas;

export const DEFINITION_IDS = Object.keys(definitionSchemas) as DefinitionId[];

export type IndicatorSettings = { [K in DefinitionId]: z.infer<(typeof definitionSchemas)[K]> };

export const DEFAULT_INDICATOR_SETTINGS: IndicatorSettings = {
  purchases: { event: 'Order Completed', revenueProperty: 'revenue' },
  significant: { except: ['Page Viewed', 'Screen Viewed', 'Email Delivered', 'Email Opened', 'Application Opened', 'App Opened'] },
  engagement: {
    // Seed 004's weights; half-lives after seed 000: a product view fades in days, attending an event lasts months.
    signals: {
      'Email Opened': { points: 10, halfLifeDays: 14 },
      'Email Link Clicked': { points: 20, halfLifeDays: 21 },
      'Product Added': { points: 30, halfLifeDays: 14 },
      'Order Completed': { points: 50, halfLifeDays: 90 },
      'Product Viewed': { points: 5, halfLifeDays: 3 },
      'Page Viewed': { points: 1, halfLifeDays: 3 },
      'Webinar Attended': { points: 40, halfLifeDays: 120 },
      'Event Attended': { points: 40, halfLifeDays: 120 },
      'Showroom Visited': { points: 30, halfLifeDays: 60 },
    },
  },
  channel_affinity: { halfLifeDays: 90, online: ['web', 'app', 'email'], offline: ['store', 'call_center', 'event'] },
  intent: {
    withinDays: 30,
    // Converging signals from several sources (seed 000): pricing online, a brochure at a trade show, reviews.
    signals: [
      {
        id: 'pricing',
        label: 'Viewed the pricing page',
        event: 'Page Viewed',
        where: [{ property: 'name', operator: 'eq', value: 'Pricing' }],
      },
      { id: 'brochure', label: 'Requested a brochure', event: 'Brochure Requested' },
      { id: 'reviews', label: 'Read reviews', event: 'Reviews Read' },
      { id: 'demo', label: 'Requested a demo', event: 'Demo Requested' },
      { id: 'configuration', label: 'Configured a product', event: 'Product Configured' },
      { id: 'quote', label: 'Requested a quote', event: 'Quote Requested' },
      { id: 'showroom', label: 'Visited a showroom', event: 'Showroom Visited' },
    ],
    stages: { high: 3, consideration: 2, exploration: 1 },
  },
  lifecycle: { warmScore: 30, hotScore: 100, atRiskAfterDays: 90 },
  categories: {
    property: 'category',
    weights: { 'Product Viewed': 1, 'Product Added': 3, 'Order Completed': 5 },
    halfLifeDays: 90,
    maxPerProfile: 8,
  },
  rfm: {
    windowDays: 365,
    potentialValue: [
      { event: 'Quote Requested', property: 'amount', weight: 0.3 },
      { event: 'Product Configured', property: 'price', weight: 0.2 },
      { event: 'Product Added', property: 'price', weight: 0.1 },
    ],
  },
  churn: { dropoutProbability: 0.2, priorOrders: 1 },
  customer_value: { annualDiscountRate: 0.1, minCustomers: 100, minRepeatCustomers: 20 },
  clusters: { minK: 2, maxK: 6, pca: true, sampleSize: 2000 },
};

/** A definition as stored in the catalog: versioned like segments. */
export interface IndicatorDefinition<K extends DefinitionId = DefinitionId> {
  id: K;
  revision: number;
  settings: IndicatorSettings[K];
  updatedAt: string;
}

export const INTENT_STAGES = ['none', 'exploration', 'consideration', 'high'] as const;

export const LIFECYCLE_STAGES = ['cold_prospect', 'warm_prospect', 'hot_prospect', 'customer', 'at_risk'] as const;

export const AFFINITIES = ['unknown', 'online', 'omnichannel', 'offline'] as const;

export type IntentStage = (typeof INTENT_STAGES)[number];

export type LifecycleStage = (typeof LIFECYCLE_STAGES)[number];

export interface IndicatorInfo {
  id: string;
  kind: 'dynamic' | 'frozen';
  type: 'number' | 'date' | 'stage' | 'text';
  /** Stage indicators: their values, from the lowest. */
  values?: readonly string[];
  /** Accepts `channel` in a segment condition (a per-channel figure). */
  perChannel?: boolean;
  /** The definitions it is computed from. */
  definitions: DefinitionId[];
  description: string;
}

export const DYNAMIC_INDICATORS: readonly IndicatorInfo[] = [
  { id: 'last_seen', kind: 'dynamic', type: 'date', definitions: [], description: 'When the person was last seen, on any channel.' },
  {
    id: 'last_purchase',
    kind: 'dynamic',
    type: 'date',
    definitions: ['purchases'],
    description: 'When the person last ordered (to the second once orders are timed; otherwise the day).',
  },
  {
    id: 'orders',
    kind: 'dynamic',
    type: 'number',
    perChannel: true,
    definitions: ['purchases'],
    description: 'Orders over the retained 400 days, on all channels or one.',
  },
  {
    id: 'revenue',
    kind: 'dynamic',
    type: 'number',
    perChannel: true,
    definitions: ['purchases'],
    description: 'Sum of the revenue property of those orders.',
  },
  {
    id: 'average_order_value',
    kind: 'dynamic',
    type: 'number',
    perChannel: true,
    definitions: ['purchases'],
    description: 'Revenue divided by the orders that carried one.',
  },
  {
    id: 'days_since_significant_interaction',
    kind: 'dynamic',
    type: 'number',
    definitions: ['significant'],
    description: 'Whole days since the last significant interaction, online or offline (page views and email opens do not count).',
  },
  {
    id: 'engagement_score',
    kind: 'dynamic',
    type: 'number',
    definitions: ['engagement'],
    description: 'Points per behaviour, each fading with its own half-life.',
  },
  {
    id: 'online_share',
    kind: 'dynamic',
    type: 'number',
    definitions: ['channel_affinity'],
    description: 'Share (0 to 1) of online interactions among online and offline ones, recent ones weighing more.',
  },
  {
    id: 'channel_affinity',
    kind: 'dynamic',
    type: 'stage',
    values: AFFINITIES,
    definitions: ['channel_affinity'],
    description: 'online (share >= 0.8), offline (<= 0.2), omnichannel between, unknown without interactions.',
  },
  {
    id: 'intent_signals',
    kind: 'dynamic',
    type: 'number',
    definitions: ['intent'],
    description: 'Distinct intent signals within the intent window.',
  },
  {
    id: 'intent_stage',
    kind: 'dynamic',
    type: 'stage',
    values: INTENT_STAGES,
    definitions: ['intent'],
    description: 'high immediate intent, active consideration, early exploration or none, from converging signals.',
  },
  {
    id: 'lifecycle_stage',
    kind: 'dynamic',
    type: 'stage',
    values: LIFECYCLE_STAGES,
    definitions: ['lifecycle', 'purchases', 'engagement', 'intent'],
    description: 'cold, warm or hot prospect (engagement and intent), customer, or at risk (no order for a while).',
  },
  {
    id: 'top_category',
    kind: 'dynamic',
    type: 'text',
    definitions: ['categories'],
    description: 'The product category with the most interest now (views, carts and orders, fading with time).',
  },
];

export const RFM_LABELS = [
  'champions',
  'loyal',
  'potential_loyalists',
  'new_customers',
  'promising',
  'about_to_sleep',
  'cannot_lose_them',
  'at_risk',
  'hibernating',
  'lost',
] as const;

/** Computed once a day by the freeze and stored apart from the hot profile item. */
export const FROZEN_INDICATORS: readonly IndicatorInfo[] = [
  {
    id: 'rfm_recency_score',
    kind: 'frozen',
    type: 'number',
    definitions: ['rfm', 'significant'],
    description: 'RFM recency quintile, 5 for the most recent fifth of the population (any significant interaction, online or offline).',
  },
  {
    id: 'rfm_frequency_score',
    kind: 'frozen',
    type: 'number',
    definitions: ['rfm', 'significant'],
    description: 'RFM frequency quintile over the window: orders, store visits, events, calls, clicks.',
  },
  {
    id: 'rfm_monetary_score',
    kind: 'frozen',
    type: 'number',
    definitions: ['rfm', 'purchases'],
    description: 'RFM monetary quintile: revenue plus weighted potential value (quotes, carts, configurations).',
  },
  { id: 'rfm_score', kind: 'frozen', type: 'text', definitions: ['rfm'], description: 'The three scores, e.g. "545".' },
  {
    id: 'rfm_label',
    kind: 'frozen',
    type: 'stage',
    values: RFM_LABELS,
    definitions: ['rfm'],
    description: 'Champions, loyal, at risk, hibernating... from recency and the mean of frequency and monetary.',
  },
  {
    id: 'churn_risk',
    kind: 'frozen',
    type: 'number',
    definitions: ['customer_value', 'churn', 'purchases'],
    description:
      'Probability (0 to 1) that a customer will not buy again: 1 - p_alive from the fitted BG/NBD model (a prior with fixed parameters while there are too few customers to fit it); absent for prospects.',
  },
  {
    id: 'p_alive',
    kind: 'frozen',
    type: 'number',
    definitions: ['customer_value', 'purchases'],
    description:
      'Probability (0 to 1) that a customer is still a customer, from the BG/NBD model fitted on everyone; absent for prospects.',
  },
  {
    id: 'expected_orders_30d',
    kind: 'frozen',
    type: 'number',
    definitions: ['customer_value', 'purchases'],
    description: 'Orders (distinct order days) to expect from the customer in the next 30 days (BG/NBD).',
  },
  {
    id: 'expected_orders_90d',
    kind: 'frozen',
    type: 'number',
    definitions: ['customer_value', 'purchases'],
    description: 'Orders (distinct order days) to expect from the customer in the next 90 days (BG/NBD).',
  },
  {
    id: 'predicted_clv_12m',
    kind: 'frozen',
    type: 'number',
    definitions: ['customer_value', 'purchases'],
    description:
      "Revenue to expect from the customer in the next 12 months (BG/NBD orders times Gamma-Gamma order value), discounted at customer_value's annual rate.",
  },
  {
    id: 'cluster',
    kind: 'frozen',
    type: 'number',
    definitions: ['clusters'],
    description: 'Behavioural cluster, described at GET /v1/indicators/clusters.',
  },
  {
    id: 'favourite_category',
    kind: 'frozen',
    type: 'text',
    definitions: ['categories'],
    description:
      'Appetite for a category: the one this person leans to most compared with everyone (highest lift, at least 1.2, and at least a fifth of their interest).',
  },
  {
    id: 'favourite_category_lift',
    kind: 'frozen',
    type: 'number',
    definitions: ['categories'],
    description: "How much more than the population's share: 2 means twice as much.",
  },
];

export const ALL_INDICATORS: readonly IndicatorInfo[] = [...DYNAMIC_INDICATORS, ...FROZEN_INDICATORS];

export const INDICATOR_IDS = ALL_INDICATORS.map((i) => i.id);

export const indicatorInfo = (id: string): IndicatorInfo | undefined => ALL_INDICATORS.find((i) => i.id === id);

export const isFrozenIndicator = (id: string): boolean => FROZEN_INDICATORS.some((i) => i.id === id);

export function settingsOf(definitions: readonly IndicatorDefinition[]): { settings: IndicatorSettings; revision: number } {
  const settings = { ...DEFAULT_INDICATOR_SETTINGS } as Record<DefinitionId, unknown>;
  let revision = 1;
  for (const definition of definitions) {
    if (!(definition.id in definitionSchemas)) continue;
    settings[definition.id] = definition.settings;
    revision += definition.revision;
  }
  return { settings: settings as IndicatorSettings, revision };
}
