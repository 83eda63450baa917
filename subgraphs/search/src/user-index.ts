import MiniSearch from 'minisearch';
import type { UserSnapshot } from '@foundation/platform';

/** One ranked hit: which user, how relevant, which fields matched which terms. */
export interface UserHit {
  id: string;
  score: number;
  matches: { field: string; terms: string[] }[];
}

const fields = ['username', 'displayName'] as const;

/**
 * The embedded full-text index of users (MiniSearch: BM25 ranking, prefix and fuzzy
 * matching, in memory). Only public profile fields are indexed; never the email.
 */
export class UserIndex {
  readonly #index = new MiniSearch<UserSnapshot>({
    fields: [...fields],
    storeFields: [],
    searchOptions: { prefix: true, fuzzy: 0.2, boost: { username: 2 }, combineWith: 'AND' },
    // Split usernames like "ada_lovelace" into words too.
    tokenize: (text) => text.split(/[\s\-_.,;:!?'"()]+/u).filter(Boolean),
  });

  /** Adds the user, or replaces what the index knew of them. */
  upsert(user: UserSnapshot): void {
    if (this.#index.has(user.id)) this.#index.replace(user);
    else this.#index.add(user);
  }

  get size(): number {
    return this.#index.documentCount;
  }

  /** All hits, best first. */
  search(query: string): UserHit[] {
    return this.#index.search(query).map((result) => {
      const byField = new Map<string, string[]>();
      for (const [term, matchedFields] of Object.entries(result.match)) {
        for (const field of matchedFields)
          byField.set(field, [...(byField.get(field) ?? []), term]);
      }
      return {
        id: String(result.id),
        score: result.score,
        matches: [...byField].map(([field, terms]) => ({ field, terms })),
      };
    });
  }
}
