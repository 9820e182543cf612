/**
 * One room: its live conversation with optimistic sends, who is here and who is typing (presence), its members (the
 * owner invites and removes), and a search of its messages.
 */
import { keepPreviousData } from '@tanstack/react-query';
import { useDeferredValue, useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import type { ChatUser } from './boot.js';
import {
  useChannel,
  useCreateMembership,
  useCreateMessage,
  useDeleteMembership,
  useMessages,
  useRoom,
  useSearchMessages,
  useUpdateMembership,
} from './ssot/react.js';
import { Link, RoomIcon } from './context.js';
import { messagesArgs, roomArgs } from './queries.js';

interface Presence {
  name: string;
  typing: boolean;
}

interface Pending {
  key: string;
  body: string;
}

export function RoomView({ roomId, me }: { roomId: number; me: ChatUser }) {
  const room = useRoom(roomArgs(roomId));
  const messages = useMessages(messagesArgs(roomId));
  const members = room.data?.members ?? [];
  const mine = members.find((m) => m.userId === me.id);
  const isOwner = room.data?.ownerId === me.id;

  if (room.isPending) return <p className="empty">Loading…</p>;
  if (!room.data || !mine) {
    return (
      <div className="card gone" data-testid="not-member">
        <h2>{room.data ? room.data.name : 'This room is not available'}</h2>
        <p>You are not a member of this room{room.data && !room.data.private ? ': join it from the room list' : ''}.</p>
        <Link to={{ name: 'home' }}>Back to your rooms</Link>
      </div>
    );
  }
  return (
    <div className="room">
      <section className="conversation card">
        <h2 className="room-title" data-testid="room-title">
          <RoomIcon private={room.data.private} />
          {room.data.name}
        </h2>
        <Conversation roomId={roomId} me={me} messages={messages.data ?? []} myMembership={mine} />
      </section>
      <aside className="card side">
        <Members roomId={roomId} me={me} members={members} isOwner={isOwner} />
        {isOwner && <Invite roomId={roomId} />}
        <Search roomId={roomId} />
      </aside>
    </div>
  );
}

interface MessageRow {
  id: number;
  body: string;
  createdAt: string;
  authorId: string;
  author: { id: string; name: string } | null;
}

interface MembershipRow {
  id: number;
  userId: string;
  role: 'owner' | 'member';
  lastReadAt?: string;
  user: { id: string; name: string; email: string } | null;
}

function Conversation({ roomId, me, messages, myMembership }: { roomId: number; me: ChatUser; messages: MessageRow[]; myMembership: MembershipRow }) {
  const send = useCreateMessage();
  const markRead = useUpdateMembership();
  const [pending, setPending] = useState<Pending[]>([]);
  const [error, setError] = useState<string>();
  const [text, setText] = useState('');
  const [typing, setTyping] = useState(false);
  const typingTimer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const channel = useChannel<Presence>('Room', roomId, { state: { name: me.name, typing } });
  const typers = uniqueBy(
    channel.members.filter((m) => m.user !== me.id && m.state?.typing),
    (m) => m.user,
  ).map((m) => m.state!.name);
  useEffect(() => () => clearTimeout(typingTimer.current), []);
  const list = useRef<HTMLOListElement>(null);
  const ordered = useMemo(() => [...messages].reverse(), [messages]);

  // Keep the view at the newest message.
  useEffect(() => {
    const el = list.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [ordered.length, pending.length]);

  // Read position: up to the newest message shown.
  const newest = ordered.at(-1);
  useEffect(() => {
    if (!newest || !myMembership.lastReadAt || newest.createdAt <= myMembership.lastReadAt) return;
    markRead.mutate({ where: { id: myMembership.id }, data: { lastReadAt: newest.createdAt } });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [newest?.id, myMembership.id, myMembership.lastReadAt]);

  const onType = (value: string) => {
    setText(value);
    clearTimeout(typingTimer.current);
    setTyping(value.length > 0);
    if (value.length > 0) typingTimer.current = setTimeout(() => setTyping(false), 3000);
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const body = text.trim();
    if (!body) return;
    const key = `pending-${Date.now()}-${Math.random()}`;
    // Optimistic: the message shows at once as "sending"; it gives way to the server's row when the write shows
    // in the live list (the mutation resolves then), or is taken back with an error when the server refuses.
    setPending((p) => [...p, { key, body }]);
    setText('');
    setTyping(false);
    clearTimeout(typingTimer.current);
    setError(undefined);
    send.mutate({ data: { body, roomId, authorId: me.id } }, {
      onSuccess: () => setPending((p) => p.filter((x) => x.key !== key)),
      onError: (e) => {
        setPending((p) => p.filter((x) => x.key !== key));
        // A room one may not write in (no longer a member) answers as a missing one (409) or 403.
        const status = (e as { status?: number }).status;
        const why = status === 403 || status === 409 ? 'The server refused it: you can no longer write in this room.' : e.message;
        setError(`Not sent: “${body}”. ${why}`);
      },
    });
  };

  return (
    <>
      <ol className="messages" ref={list} data-testid="messages">
        {ordered.length === 0 && pending.length === 0 && <li className="empty">No messages yet. Say hello!</li>}
        {ordered.map((m) => (
          <li key={m.id} className={m.authorId === me.id ? 'msg mine' : 'msg'} data-testid="message" data-id={m.id}>
            <span className="author">{m.author?.name ?? 'someone'}</span>
            <span className="body">{m.body}</span>
            <time dateTime={m.createdAt}>{m.createdAt.slice(11, 16)}</time>
          </li>
        ))}
        {pending.map((m) => (
          <li key={m.key} className="msg mine pending" data-testid="pending-message">
            <span className="author">{me.name}</span>
            <span className="body">{m.body}</span>
            <time>sending…</time>
          </li>
        ))}
      </ol>
      <p className="typing" data-testid="typing">
        {typers.length > 0 ? `${typers.join(', ')} ${typers.length > 1 ? 'are' : 'is'} typing…` : '\u00a0'}
      </p>
      {error && (
        <p className="error" role="alert" data-testid="send-error">
          {error}{' '}
          <button className="link" onClick={() => setError(undefined)}>
            dismiss
          </button>
        </p>
      )}
      <form className="composer" onSubmit={submit}>
        <input value={text} onChange={(e) => onType(e.target.value)} placeholder="Write a message…" aria-label="Message" data-testid="composer" maxLength={2000} />
        <button type="submit" data-testid="send">
          Send
        </button>
      </form>
    </>
  );
}

function Members({ roomId, me, members, isOwner }: { roomId: number; me: ChatUser; members: MembershipRow[]; isOwner: boolean }) {
  const online = new Set(usePresent(roomId));
  const remove = useDeleteMembership();
  return (
    <>
      <h3>Members</h3>
      <ul className="members" data-testid="members">
        {members.map((m) => (
          <li key={m.id} data-testid="member" data-user={m.user?.email}>
            <span className={online.has(m.userId) ? 'dot on' : 'dot'} title={online.has(m.userId) ? 'online' : 'offline'} data-testid={online.has(m.userId) ? 'online' : 'offline'} />
            <span className="name">{m.user?.name ?? '…'}</span>
            {m.role === 'owner' && <span className="tag">owner</span>}
            {isOwner && m.userId !== me.id && (
              <button className="small danger" onClick={() => remove.mutate({ where: { id: m.id } })} data-testid="remove">
                Remove
              </button>
            )}
          </li>
        ))}
      </ul>
      {remove.error && <p className="error">{remove.error.message}</p>}
    </>
  );
}

/** The users connected to the room's channel (shares the membership `Conversation` holds). */
function usePresent(roomId: number): string[] {
  const channel = useChannel<Presence>('Room', roomId);
  return channel.members.map((m) => m.user).filter((u): u is string => u !== null);
}

function Invite({ roomId }: { roomId: number }) {
  const invite = useCreateMembership();
  const [email, setEmail] = useState('');
  const [done, setDone] = useState<string>();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const who = email.trim();
    if (!who) return;
    setDone(undefined);
    invite.mutate({ data: { room: { connect: { id: roomId } }, user: { connect: { email: who } } } }, {
      onSuccess: () => {
        setEmail('');
        setDone(`${who} was added.`);
      },
    });
  };
  const problem = invite.error as (Error & { status?: number }) | null;
  return (
    <form className="invite" onSubmit={submit} data-testid="invite">
      <h3>Invite</h3>
      <div className="row">
        <input type="email" placeholder="e-mail" value={email} onChange={(e) => setEmail(e.target.value)} aria-label="E-mail to invite" required />
        <button type="submit" disabled={invite.isPending}>
          Add
        </button>
      </div>
      {problem && <p className="error">{problem.status === 409 || problem.status === 404 ? 'No such user, or already a member.' : problem.message}</p>}
      {done && <p className="ok">{done}</p>}
    </form>
  );
}

/**
 * Full-text search of the room's messages (`@@search(fields: ["body"])`): ranked, with the matches marked. The
 * snippets come HTML-escaped from the server with `<mark>` around the matches, and only from fields the caller
 * may read. Not live: it searches again as the words change (the last page stays while the next one comes).
 */
function Search({ roomId }: { roomId: number }) {
  const [text, setText] = useState('');
  const words = useDeferredValue(text.trim());
  const found = useSearchMessages(
    { search: words, highlight: true, where: { roomId }, take: 10, include: { author: { select: { name: true } } } },
    { enabled: words.length > 1, placeholderData: keepPreviousData },
  );
  const page = words.length > 1 ? found.data : undefined;
  return (
    <div className="search" data-testid="search">
      <h3>Search</h3>
      <input type="search" placeholder="words or &quot;a phrase&quot;" value={text} onChange={(e) => setText(e.target.value)} aria-label="Search messages" />
      {found.error && words.length > 1 && <p className="error">{found.error.message}</p>}
      {page && (
        <>
          <p className="hint">{page.meta.total === 0 ? 'No message matches.' : `${page.meta.total} message${page.meta.total === 1 ? '' : 's'}`}</p>
          <ol className="results">
            {page.data.map((m, i) => (
              <li key={m.id} data-testid="search-result">
                <span className="author">{m.author?.name ?? 'someone'}</span>
                <span className="body" dangerouslySetInnerHTML={{ __html: page.meta.highlights?.[i]?.body ?? escapeHtml(m.body) }} />
              </li>
            ))}
          </ol>
        </>
      )}
    </div>
  );
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}


function uniqueBy<T>(items: T[], key: (item: T) => unknown): T[] {
  const seen = new Set<unknown>();
  return items.filter((item) => (seen.has(key(item)) ? false : (seen.add(key(item)), true)));
}
