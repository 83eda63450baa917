import { createMemoryStores } from '../src/index.js';
import { storesContract } from './contracts/stores.contract.js';

storesContract('memory', async () => createMemoryStores());
