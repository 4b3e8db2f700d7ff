import { MemoryPresenceStore } from '../../src/presence/memory-presence-store.js';
import { describePresenceStore } from './presence-store-conformance.js';

describePresenceStore('memory', () => new MemoryPresenceStore());
