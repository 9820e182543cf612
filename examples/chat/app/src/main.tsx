/**
 * The browser: a client on the ssot server (over its WebSocket, HTTP for writes), the session kept in
 * localStorage (and its access token in a cookie, for the server's rendering of the next page), then hydrating
 * the server's HTML when it was rendered for this same user, or rendering from scratch.
 */
import { QueryClient } from '@tanstack/react-query';
import { StrictMode, useEffect, useState } from 'react';
import { createRoot, hydrateRoot } from 'react-dom/client';
import { createClient } from './ssot/ssot.js';
import { TOKEN_COOKIE, type Boot, type ChatUser } from './boot.js';
import { parseRoute, pathOf, type Route } from './route.js';
import { Root } from './Root.js';
import './styles.css';

declare global {
  interface Window {
    __CHAT__: Boot;
    __chat?: { client: ReturnType<typeof createClient> };
  }
}

type Session = NonNullable<ReturnType<typeof createClient>['auth']['session']>;
const SESSION_KEY = 'ssot-chat-session';

const boot = window.__CHAT__;
const client = createClient({ url: boot.apiUrl });
window.__chat = { client };

function loadSession(): Session | undefined {
  try {
    const raw = localStorage.getItem(SESSION_KEY);
    return raw ? (JSON.parse(raw) as Session) : undefined;
  } catch {
    return undefined;
  }
}

function store(session: Session | undefined): void {
  if (session) {
    localStorage.setItem(SESSION_KEY, JSON.stringify(session));
    document.cookie = `${TOKEN_COOKIE}=${session.accessToken}; path=/; SameSite=Lax; max-age=${30 * 86400}`;
  } else {
    localStorage.removeItem(SESSION_KEY);
    document.cookie = `${TOKEN_COOKIE}=; path=/; max-age=0`;
  }
}

const saved = loadSession();
if (saved) client.$tokens.setSession(saved);
// Each refresh brings new tokens: keep them (and the cookie) current.
client.$tokens.onChange(() => store(client.auth.session));
const userOf = (session: Session | undefined): ChatUser | null => {
  const u = session?.user;
  return u ? { id: u.id, name: u.name, email: u.email } : null;
};

const queryClient = new QueryClient({ defaultOptions: { queries: { staleTime: 60_000, retry: 1 } } });

function Browser({ initialUser }: { initialUser: ChatUser | null }) {
  const [route, setRoute] = useState<Route>(() => parseRoute(location.pathname));
  const [user, setUser] = useState<ChatUser | null>(initialUser);
  useEffect(() => {
    const onPop = () => setRoute(parseRoute(location.pathname));
    addEventListener('popstate', onPop);
    client.$tokens.onSessionLost = () => {
      store(undefined);
      setUser(null);
    };
    return () => removeEventListener('popstate', onPop);
  }, []);
  const context = {
    user,
    navigate: (next: Route) => {
      history.pushState(null, '', pathOf(next));
      setRoute(next);
    },
    signedIn: (next: ChatUser) => {
      store(client.auth.session);
      setUser(next);
    },
    signOut: () => {
      void client.auth.logout().finally(() => {
        store(undefined);
        queryClient.clear();
        setUser(null);
        history.pushState(null, '', '/');
        setRoute({ name: 'home' });
      });
    },
  };
  return <Root queryClient={queryClient} client={client} live={true} state={boot.state} route={route} context={context} />;
}

const user = userOf(saved);
const container = document.getElementById('root')!;
const tree = (
  <StrictMode>
    <Browser initialUser={user} />
  </StrictMode>
);
// Hydrate what the server rendered for this very user; otherwise (signed out, another user, an expired cookie)
// render from scratch.
if (boot.rendered && boot.user && user && boot.user.id === user.id) hydrateRoot(container, tree);
else {
  container.innerHTML = '';
  createRoot(container).render(tree);
}
