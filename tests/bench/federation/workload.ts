/**
 * The public federation benchmark's workload (workload/, a snapshot of
 * graphql-hive/graphql-gateways-benchmark): its query, supergraph, subgraph SDL and the
 * expected response, and the subgraphs' data derived from that response.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the workload lives (a copy, see workload/README.md); `BENCH_WORKLOAD_DIR` overrides it. */
export const workloadDir =
  process.env['BENCH_WORKLOAD_DIR'] ?? path.resolve(fileURLToPath(import.meta.url), '../workload');

const read = (file: string) => readFileSync(path.join(workloadDir, file), 'utf8');

/** The benchmark's four subgraphs. */
export const subgraphNames = ['accounts', 'inventory', 'products', 'reviews'] as const;
/** One of {@link subgraphNames}. */
export type SubgraphName = (typeof subgraphNames)[number];

/** `TestQuery`, 88 KB of response over four subgraphs. */
export const testQuery = read('query.graphql');

/** The supergraph, its subgraph URLs pointing at `baseUrl/<name>`. */
export function supergraphFor(baseUrl: string): string {
  return read('supergraph.graphql').replace(/http:\/\/0\.0\.0\.0:4200/g, baseUrl);
}

/** Each subgraph's SDL, as published (federation v1 style). */
export function subgraphSdl(name: SubgraphName): string {
  return read(`subgraphs/${name}.graphql`);
}

/** The response every gateway must give to `TestQuery`. */
export const expectedResponse = JSON.parse(read('k6-expected-structure.json')) as {
  data: { users: UserOut[]; topProducts: ProductOut[] };
};

interface UserOut {
  id: string;
  username: string;
  name: string;
  reviews?: ReviewOut[];
}
interface ReviewOut {
  id: string;
  body: string;
  product?: ProductOut;
  author?: UserOut;
}
interface ProductOut {
  upc: string;
  name: string;
  price: number;
  weight: number;
  inStock: boolean;
  shippingEstimate: number | null;
  reviews?: ReviewOut[];
}

/** A row of each subgraph's table. */
export interface Tables {
  users: Map<string, { id: string; username: string; name: string; reviewIds: string[] }>;
  products: Map<
    string,
    {
      upc: string;
      name: string;
      price: number;
      weight: number;
      inStock: boolean;
      reviewIds: string[];
    }
  >;
  reviews: Map<string, { id: string; body: string; authorId: string; productUpc: string }>;
  /** `users` in order, as `Query.users` returns them. */
  userOrder: string[];
  /** `topProducts` in order. */
  productOrder: string[];
}

/**
 * The data the benchmark's Rust subgraphs hold, recovered from the expected response: every
 * user, product and review it shows, with the links between them. A gateway that answers
 * from these tables through correct federation reproduces the expected response exactly.
 */
export function tablesFromExpected(): Tables {
  const tables: Tables = {
    users: new Map(),
    products: new Map(),
    reviews: new Map(),
    userOrder: expectedResponse.data.users.map((u) => u.id),
    productOrder: expectedResponse.data.topProducts.map((p) => p.upc),
  };
  const reviewLinks = new Map<string, { authorId?: string; productUpc?: string; body: string }>();
  const link = (r: ReviewOut, authorId?: string, productUpc?: string) => {
    const row = reviewLinks.get(r.id) ?? { body: r.body };
    if (authorId) row.authorId = authorId;
    if (productUpc) row.productUpc = productUpc;
    reviewLinks.set(r.id, row);
  };
  const user = (u: UserOut) => {
    const row = tables.users.get(u.id) ?? {
      id: u.id,
      username: u.username,
      name: u.name,
      reviewIds: [],
    };
    tables.users.set(u.id, row);
    if (u.reviews) {
      row.reviewIds = u.reviews.map((r) => r.id);
      for (const r of u.reviews) review(r);
    }
  };
  const product = (p: ProductOut) => {
    const row = tables.products.get(p.upc) ?? {
      upc: p.upc,
      name: p.name,
      price: p.price,
      weight: p.weight,
      inStock: p.inStock,
      reviewIds: [],
    };
    tables.products.set(p.upc, row);
    if (p.reviews) {
      row.reviewIds = p.reviews.map((r) => r.id);
      for (const r of p.reviews) {
        link(r, undefined, p.upc);
        review(r);
      }
    }
  };
  const review = (r: ReviewOut) => {
    link(r, r.author?.id, r.product?.upc);
    if (r.author) user(r.author);
    if (r.product) product(r.product);
  };
  for (const u of expectedResponse.data.users) user(u);
  for (const p of expectedResponse.data.topProducts) product(p);
  for (const [id, r] of reviewLinks) {
    if (!r.authorId || !r.productUpc) throw new Error(`review ${id}: author or product unknown`);
    tables.reviews.set(id, { id, body: r.body, authorId: r.authorId, productUpc: r.productUpc });
  }
  return tables;
}
