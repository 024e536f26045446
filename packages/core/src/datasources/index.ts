// What the site configuration connects to: a client per datasource (knex, ClickHouse), an SSH
// session per host, the state store — each checked before anything runs.

export { type Datasources, type OpenDatasourcesOptions, openDatasources } from './connect.js';
export { type ConnectHostOptions, connectHost } from './hosts.js';
export type { StateStoreOptions } from './state.js';
