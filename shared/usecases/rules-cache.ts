import type { CompiledRules } from '../domain/memberships';
import type { DefinitionStore } from '../ports/catalog';
import { loadRules } from './managed-segments';

/**
 * The compiled rules (segments, aggregate specs, indicator model), cached per container for `ttlMs`
 * so a busy processor does not re-read the catalog table and re-compile them on every batch.
 */
export class RulesCache {
  private cached?: { at: number; rules: CompiledRules };

  constructor(
    private readonly catalog: DefinitionStore,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async current(): Promise<CompiledRules> {
    const now = this.now();
    if (this.cached && now - this.cached.at < this.ttlMs) return this.cached.rules;
    const rules = await loadRules(this.catalog);
    this.cached = { at: now, rules };
    return rules;
  }
}
