export * from './crypto.js';
export * from './errors.js';
export * from './supernode-client.js';
export * from './device-directory.js';
export * from './message-crypto.js';
export * from './message-stream.js';
export type * from './types.js';
export { messageText } from './types.js';
export { fetchTransport, requestJson, type HttpAnswer, type HttpTransport } from './http.js';
