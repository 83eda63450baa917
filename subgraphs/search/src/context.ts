import type { EventBus, SubgraphContext } from '@foundation/platform';
import type { UserIndex } from './user-index.js';

/** The context of every search-subgraph resolver. */
export interface Context extends SubgraphContext {
  index: UserIndex;
  /** Where `searchIndexUpdated` listens. */
  events: EventBus;
  /** Most hits one page may hold. */
  maxPageSize: number;
}
