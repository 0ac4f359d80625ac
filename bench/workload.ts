/**
 * The workload of the end-to-end and cost benchmarks: shoppers' sessions of 4-5 events each, about
 * 1 KB an event with the context a web library sends, interleaved as a server-side library batches
 * them (events of a few sessions per batch). Most sessions browse (home, product and category pages);
 * by default 7 % add to cart, as the shop industry's averages have it, and 30 % of those order (70 %
 * of carts are abandoned). Seeded, so every run posts the same stream.
 */
import { seededRandom } from './harness';

export interface WorkloadOptions {
  /** Run label: makes user ids unique per run, so every session is a new person. */
  label: string;
  seed?: number;
  /** Sessions open at once: how many people share a batch. */
  openSessions?: number;
  /** Traits sent with the identify that opens each new person's first session, about 45 bytes each: grows the profile. */
  traits?: number;
  /** Share of sessions by people seen before (default 0.5): they claim no identifier again. Changeable with `setReturning`. */
  returning?: number;
  /** People seen before, whom returning sessions pick from besides those this stream starts. */
  known?: readonly string[];
  /** Share of sessions that add to cart (default 0.07). */
  cartRate?: number;
  /** Share of those that go on to order (default 0.3). */
  orderRate?: number;
}

type Step = 'home' | 'product' | 'category' | 'added' | 'cart' | 'order';

/** The first page view of a new person's session: the moment their profile starts. */
export interface SessionStart {
  userId: string;
  /** Index in the stream of that page view. */
  index: number;
}

const CATEGORIES = ['shoes', 'shirts', 'bags', 'hats', 'watches', 'coats'];
const AGENT = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15';

/** An endless stream of events, and the session starts it produced, for latency sampling. */
export function workload(options: WorkloadOptions) {
  const random = seededRandom(options.seed ?? 42);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const open: Array<{ userId: string; step: number; steps: Step[]; category: string; price: number; returning: boolean }> = [];
  const starts: SessionStart[] = [];
  const known: string[] = [...(options.known ?? [])];
  let sessions = 0;
  let emitted = 0;
  let returningShare = options.returning ?? 0.5;

  const context = (path: string, title: string) => ({
    library: { name: 'analytics.js', version: '5.2.0' },
    userAgent: AGENT,
    locale: 'fr-FR',
    ip: `192.0.2.${Math.floor(random() * 250)}`,
    timezone: 'Europe/Paris',
    page: { path, url: `https://shop.example.com${path}`, title, referrer: 'https://www.google.com/', search: '' },
    campaign: { source: 'newsletter', medium: 'email', name: 'autumn-sale' },
    screen: { width: 1512, height: 982, density: 2 },
    os: { name: 'Mac OS X', version: '14.6' },
  });

  function eventOf(session: (typeof open)[number]): Record<string, unknown> {
    const { userId, step, category, price } = session;
    const base = { userId, messageId: `${options.label}-${emitted}`, timestamp: new Date().toISOString() };
    const product = {
      product_id: `P-${category}-${Math.floor(price)}`,
      sku: `SKU-${Math.floor(random() * 1e6)}`,
      category,
      name: `${category} model ${Math.floor(random() * 90)}`,
      brand: 'Maison Exemple',
      variant: pick(['black', 'navy', 'sand', 'olive']),
      price,
      currency: 'EUR',
      quantity: 1,
      url: `https://shop.example.com/p/${category}/${Math.floor(price)}`,
      image_url: `https://cdn.example.com/img/${category}/${Math.floor(price)}-800x800.jpg`,
    };
    switch (session.steps[step]!) {
      case 'home':
        return { ...base, type: 'page', name: 'Home', properties: { path: '/', title: 'Maison Exemple' }, context: context('/', 'Home') };
      case 'product':
        return { ...base, type: 'track', event: 'Product Viewed', properties: product, context: context(`/p/${category}`, product.name) };
      case 'category':
        return {
          ...base,
          type: 'page',
          name: 'Category',
          properties: { path: `/c/${category}`, title: category, category },
          context: context(`/c/${category}`, category),
        };
      case 'added':
        return {
          ...base,
          type: 'track',
          event: 'Product Added',
          properties: { ...product, cart_id: `C-${userId}` },
          context: context(`/p/${category}`, product.name),
        };
      case 'cart':
        return { ...base, type: 'page', name: 'Cart', properties: { path: '/cart', title: 'Cart' }, context: context('/cart', 'Cart') };
      case 'order':
        return {
          ...base,
          type: 'track',
          event: 'Order Completed',
          properties: { order_id: `O-${userId}-${emitted}`, revenue: price, currency: 'EUR', category, products: [product] },
          context: context('/checkout/done', 'Thank you'),
        };
    }
  }

  /** A session's pages: browsing (4-5 events), or a cart left (4) or ordered (5). */
  function stepsOf(): Step[] {
    if (random() < (options.cartRate ?? 0.07))
      return random() < (options.orderRate ?? 0.3) ? ['home', 'product', 'added', 'cart', 'order'] : ['home', 'product', 'added', 'cart'];
    return random() < 0.5 ? ['home', 'product', 'category', 'product', 'product'] : ['home', 'category', 'product', 'product'];
  }

  function openSession(): void {
    const returning = known.length > open.length && random() < returningShare;
    let userId = returning ? pick(known) : `${options.label}-u${sessions++}`;
    // One session at a time per person: someone already browsing is not picked again.
    while (returning && open.some((session) => session.userId === userId)) userId = pick(known);
    if (!returning) known.push(userId);
    open.push({ userId, step: -1, steps: stepsOf(), category: pick(CATEGORIES), price: Math.round(20 + random() * 180), returning });
  }

  /** The next event of a random open session; a finished session makes room for a new one. */
  function next(): Record<string, unknown> {
    while (open.length < (options.openSessions ?? 6)) openSession();
    const i = Math.floor(random() * open.length);
    const session = open[i]!;
    let event: Record<string, unknown>;
    if (session.step === -1 && options.traits && !session.returning) {
      // Values as varied as names and addresses are, so compression cannot flatter the profile's size.
      const traits = Object.fromEntries(
        Array.from({ length: options.traits }, (_, t) => [
          `attribute_${t}`,
          `value ${t} ${Array.from({ length: 4 }, () => Math.floor(random() * 36 ** 6).toString(36)).join('')}`,
        ]),
      );
      event = {
        userId: session.userId,
        messageId: `${options.label}-${emitted}`,
        type: 'identify',
        traits: { ...traits, email: `${session.userId}@example.com` },
        context: context('/', 'Home'),
      };
    } else {
      if (session.step === -1) session.step = 0;
      if (session.step === 0 && !session.returning) starts.push({ userId: session.userId, index: emitted });
      event = eventOf(session);
    }
    session.step++;
    if (session.step >= session.steps.length) open.splice(i, 1);
    emitted++;
    return event;
  }

  return {
    next,
    starts,
    emitted: () => emitted,
    /** People this stream knows: seeded, and started so far. */
    people: () => known.length,
    known: (): readonly string[] => [...known],
    setReturning: (share: number) => void (returningShare = share),
  };
}

export type Workload = ReturnType<typeof workload>;
