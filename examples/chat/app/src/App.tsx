/**
 * The chat's pages, rendered on the server (first page) and in the browser. Everything they read and write goes
 * through the generated client's hooks (./ssot/react.js): live lists and records, mutations, channels.
 */
import { useEffect, useState } from 'react';
import type { ChatUser } from './boot.js';
import { Ctx, Link, useApp, type AppContext } from './context.js';
import { RoomList } from './RoomList.js';
import { RoomView } from './Room.js';
import { SignIn } from './SignIn.js';
import type { Route } from './route.js';
import { useSsotClient } from './ssot/react.js';

export function App({ route, context }: { route: Route; context: AppContext }) {
  return (
    <Ctx.Provider value={context}>
      <div className="app">
        <Header />
        <main>{context.user ? <Page route={route} user={context.user} /> : <SignIn />}</main>
      </div>
    </Ctx.Provider>
  );
}

function Page({ route, user }: { route: Route; user: ChatUser }) {
  if (route.name === 'room') return <RoomView key={route.id} roomId={route.id} me={user} />;
  if (route.name === 'notFound') return <p className="empty">Nothing here. <Link to={{ name: 'home' }}>All rooms</Link></p>;
  return <RoomList me={user} />;
}

/** The socket's state, once mounted (the server renders none, so hydration matches). */
function useConnectionStatus(): string {
  const client = useSsotClient();
  const [status, setStatus] = useState('');
  useEffect(() => {
    setStatus(client.$status);
    return client.$onStatus((info) => setStatus(info.status));
  }, [client]);
  return status;
}

function Header() {
  const { user, signOut } = useApp();
  const status = useConnectionStatus();
  return (
    <header className="top">
      <Link to={{ name: 'home' }} className="brand">
        ssot chat
      </Link>
      {user && (
        <div className="who">
          {status && <span className={`conn conn-${status}`} data-testid="connection" title={`connection: ${status}`}>{status}</span>}
          <span className="me" data-testid="me">{user.name}</span>
          <button className="link" onClick={signOut}>
            Sign out
          </button>
        </div>
      )}
    </header>
  );
}
