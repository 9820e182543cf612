/** The rooms: the user's own with live unread counts, the public ones to join, and a form to create one. */
import { type FormEvent } from 'react';
import type { ChatUser } from './boot.js';
import {
  useCreateMembership,
  useCreateRoom,
  useMemberships,
  useMessages,
  useRooms,
} from './ssot/react.js';
import { Link, RoomIcon, useApp } from './context.js';
import { myRoomsArgs, publicRoomsArgs, unreadArgs, UNREAD_CAP } from './queries.js';

export function RoomList({ me }: { me: ChatUser }) {
  const mine = useMemberships(myRoomsArgs(me.id));
  const open = useRooms(publicRoomsArgs(me.id));
  const error = mine.error ?? open.error;
  const joined = mine.data ?? [];
  return (
    <div className="rooms">
      <section className="card">
        <h2>Your rooms</h2>
        {error && <p className="error">{error.message}</p>}
        {!mine.data && !error && <p className="empty">Loading…</p>}
        {mine.data && joined.length === 0 && <p className="empty">No rooms yet: create one, or join a public room.</p>}
        <ul className="room-list" data-testid="my-rooms">
          {joined.map(({ id, room, lastReadAt }) =>
            room ? (
              <li key={id}>
                <Link to={{ name: 'room', id: room.id }} className="room-link">
                  <span className="room-name">
                    <RoomIcon private={room.private} />
                    {room.name}
                  </span>
                  <Unread roomId={room.id} me={me} since={lastReadAt} />
                </Link>
              </li>
            ) : null,
          )}
        </ul>
      </section>
      {open.data && open.data.length > 0 && (
        <section className="card">
          <h2>Public rooms</h2>
          <ul className="room-list" data-testid="public-rooms">
            {open.data.map((room) => (
              <li key={room.id}>
                <span className="room-name">
                  <RoomIcon private={false} />
                  {room.name}
                </span>
                <JoinButton roomId={room.id} me={me} />
              </li>
            ))}
          </ul>
        </section>
      )}
      <CreateRoom me={me} />
    </div>
  );
}

/** The others' messages after one's read position: a live list of ids, shown as a count. */
function Unread({ roomId, me, since }: { roomId: number; me: ChatUser; since: string | undefined }) {
  const { data } = useMessages(unreadArgs(roomId, me.id, String(since ?? new Date(0).toISOString())), { enabled: since !== undefined });
  const n = data?.length ?? 0;
  if (n === 0) return null;
  return (
    <span className="badge" data-testid={`unread-${roomId}`}>
      {n > UNREAD_CAP ? `${UNREAD_CAP}+` : n}
    </span>
  );
}

function JoinButton({ roomId, me }: { roomId: number; me: ChatUser }) {
  const join = useCreateMembership();
  const { navigate } = useApp();
  return (
    <button
      className="small"
      disabled={join.isPending}
      onClick={() => join.mutate({ data: { roomId, userId: me.id } }, { onSuccess: () => navigate({ name: 'room', id: roomId }) })}
    >
      Join
    </button>
  );
}

function CreateRoom({ me }: { me: ChatUser }) {
  const create = useCreateRoom();
  const { navigate } = useApp();
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const name = String(form.get('name')).trim();
    if (!name) return;
    create.mutate(
      { data: { name, private: form.get('private') === 'on', ownerId: me.id, members: { create: [{ userId: me.id, role: 'owner' }] } } },
      { onSuccess: (room) => navigate({ name: 'room', id: (room as { id: number }).id }) },
    );
  };
  return (
    <form className="card create-room" onSubmit={submit} data-testid="create-room">
      <h2>New room</h2>
      <div className="row">
        <input name="name" placeholder="Room name" required maxLength={80} />
        <label className="check">
          <input type="checkbox" name="private" /> Private
        </label>
        <button type="submit" disabled={create.isPending}>
          Create
        </button>
      </div>
      {create.error && <p className="error">{create.error.message}</p>}
    </form>
  );
}

// ---------------------------------------------------------------------------------------------------------------
// One room
