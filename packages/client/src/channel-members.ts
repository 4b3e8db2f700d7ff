/**
 * A subscription's view of its channel's presence: the member list from the server's snapshot
 * (sent after every (re)subscribe), kept current by the diffs that follow (joins, leaves and
 * status updates of one server window in one frame). Diffs before the first snapshot are skipped:
 * the snapshot that follows has them. A counts-only channel has a count and no members. Entries
 * come in their wire form (a sub alone for one `online` device) and are handed on as members.
 */
import { presenceMemberOf, type PresenceChannelFrame, type PresenceMember } from '@tether/protocol/wire';

export interface PresenceJoinContext {
  channel: string;
  member: PresenceMember;
}
export interface PresenceLeaveContext {
  channel: string;
  sub: string;
}
export interface PresenceUpdateContext {
  channel: string;
  member: PresenceMember;
}
export interface PresenceMembersContext {
  channel: string;
  members: PresenceMember[];
  count: number;
}

/** The presence events of a subscription (`sub.on('join', …)`). */
export interface MembersEvents {
  /** A user's first device joined. */
  join: PresenceJoinContext;
  /** A user's last device left (after the server's grace period). */
  leave: PresenceLeaveContext;
  /** A member's status changed. */
  update: PresenceUpdateContext;
  /** The member list after a snapshot or any diff. */
  members: PresenceMembersContext;
}

type Emit = <K extends keyof MembersEvents>(event: K, context: MembersEvents[K]) => void;

export class ChannelMembers {
  private list: Map<string, PresenceMember> | undefined;
  private total = 0;

  get count(): number {
    return this.total;
  }

  members(): PresenceMember[] {
    return [...(this.list?.values() ?? [])].map((m) => ({ ...m }));
  }

  apply(frame: PresenceChannelFrame, emit: Emit): void {
    const { channel } = frame;
    if (frame.members !== undefined || (this.list === undefined && isCountOnly(frame))) {
      // A snapshot (or a counts-only channel's count): it replaces whatever was held.
      this.list = new Map();
      for (const entry of frame.members ?? []) {
        const member = presenceMemberOf(entry);
        this.list.set(member.sub, member);
      }
    } else if (this.list === undefined) {
      return; // a diff before the first snapshot: the snapshot has it
    } else {
      for (const entry of frame.join ?? []) {
        const member = presenceMemberOf(entry);
        this.list.set(member.sub, member);
        emit('join', { channel, member: { ...member } });
      }
      for (const sub of frame.leave ?? []) {
        this.list.delete(sub);
        emit('leave', { channel, sub });
      }
      for (const entry of frame.update ?? []) {
        const member = presenceMemberOf(entry);
        this.list.set(member.sub, member);
        emit('update', { channel, member: { ...member } });
      }
    }
    this.total = frame.count;
    emit('members', { channel, members: this.members(), count: frame.count });
  }
}

const isCountOnly = (frame: PresenceChannelFrame): boolean =>
  frame.join === undefined && frame.leave === undefined && frame.update === undefined;
