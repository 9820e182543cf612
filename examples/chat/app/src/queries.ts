/**
 * The reads the pages make, as functions of who and where: the server prefetches with exactly these arguments
 * and the browser's hooks use them again, so both sides share one query key (docs/sdk.md, "Server rendering").
 */
/**
 * The room list: one's memberships with their rooms, and the public rooms one is not in. (Not rooms with their
 * members filtered to oneself: the client keeps one copy of each Room, so a room's `members` included with other
 * arguments by another query (the room page's, all of them) would overwrite each other.)
 */
export const myRoomsArgs = (userId: string) =>
  ({
    where: { userId },
    orderBy: { createdAt: 'asc' },
    include: { room: { select: { id: true, name: true, private: true } } },
  }) as const;

export const publicRoomsArgs = (userId: string) =>
  ({
    where: { private: false, members: { none: { userId } } },
    orderBy: { createdAt: 'asc' },
  }) as const;

export const roomArgs = (roomId: number) =>
  ({
    where: { id: roomId },
    include: {
      owner: { select: { id: true, name: true } },
      members: { orderBy: { createdAt: 'asc' }, include: { user: { select: { id: true, name: true, email: true } } } },
    },
  }) as const;

/** The room's latest messages, newest first (the view shows them oldest first). */
export const MESSAGES_SHOWN = 200;
export const messagesArgs = (roomId: number) =>
  ({
    where: { roomId },
    orderBy: { id: 'desc' },
    take: MESSAGES_SHOWN,
    include: { author: { select: { id: true, name: true } } },
  }) as const;

/** Unread: the others' messages after one's read position (a live list of ids: the protocol has no live count). */
export const UNREAD_CAP = 99;
export const unreadArgs = (roomId: number, userId: string, since: string) =>
  ({
    where: { roomId, authorId: { not: userId }, createdAt: { gt: since } },
    select: { id: true },
    orderBy: { id: 'asc' },
    take: UNREAD_CAP + 1,
  }) as const;
