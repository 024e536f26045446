import type { EventSink } from '../../events/index.js';
import type { LocalHashes } from './local.js';
import type { ManagerSettings } from './options.js';

/** What every host's transfer shares: settings, events, the scp binary, the local hashes. */
export interface UploadContext {
  readonly settings: ManagerSettings;
  readonly events: EventSink;
  readonly scp: string | undefined;
  readonly hashes: LocalHashes;
}
