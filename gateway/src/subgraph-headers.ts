import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';

type FetcherHeaders = NonNullable<GraphQLDataSourceProcessOptions['request']['http']>['headers'];

/**
 * The headers of one subgraph call: a lower-cased Map with the `Headers` methods Apollo's
 * data source contract uses (`willSendRequest` sets them). Much cheaper than WHATWG
 * `Headers`, which validates and normalizes on every call.
 */
export class SubgraphHeaders implements FetcherHeaders {
  readonly #map = new Map<string, string>();

  constructor(init?: Iterable<[string, string]> | Record<string, string | string[] | undefined>) {
    if (!init) return;
    if (Symbol.iterator in init) {
      for (const [name, value] of init) this.append(name, value);
      return;
    }
    for (const [name, value] of Object.entries(init)) {
      if (value !== undefined)
        this.#map.set(name.toLowerCase(), Array.isArray(value) ? value.join(', ') : value);
    }
  }

  append(name: string, value: string): void {
    const key = name.toLowerCase();
    const existing = this.#map.get(key);
    this.#map.set(key, existing === undefined ? value : `${existing}, ${value}`);
  }
  delete(name: string): void {
    this.#map.delete(name.toLowerCase());
  }
  get(name: string): string | null {
    return this.#map.get(name.toLowerCase()) ?? null;
  }
  has(name: string): boolean {
    return this.#map.has(name.toLowerCase());
  }
  set(name: string, value: string): void {
    this.#map.set(name.toLowerCase(), value);
  }
  entries(): MapIterator<[string, string]> {
    return this.#map.entries();
  }
  keys(): MapIterator<string> {
    return this.#map.keys();
  }
  values(): MapIterator<string> {
    return this.#map.values();
  }
  [Symbol.iterator](): MapIterator<[string, string]> {
    return this.#map.entries();
  }
  /** A plain object, as undici takes headers. */
  toRecord(): Record<string, string> {
    return Object.fromEntries(this.#map);
  }
  /** One string naming every header and value, to tell calls that may share a request. */
  key(): string {
    let key = '';
    for (const [name, value] of this.#map) key += `${name}:${value}\n`;
    return key;
  }
}
