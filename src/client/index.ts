export * from './crypto.js';
export * from './errors.js';
export * from './supernode-client.js';
export type * from './types.js';
