/**
 * The epoch of a channel that has no log: never written, or written and then lost by the store and
 * not written since. Stores keep nothing for such a channel (reads create no state) and report this
 * constant with head 0; the first append starts a real epoch (a random id, never this one).
 *
 * A position with offset 0 matches any epoch: it has handled nothing, so nothing can be missed by
 * moving it to another life of the log. Server and SDK adopt the real epoch silently from there.
 */
export const UNWRITTEN_EPOCH = '0';
