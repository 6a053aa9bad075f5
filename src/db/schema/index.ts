export * from './accounts.table.js';
export * from './devices.table.js';
export * from './auth.table.js';
export * from './conversations.table.js';
export * from './messages.table.js';
export * from './push.table.js';
export * from './admin.table.js';
