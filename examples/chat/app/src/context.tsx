/** What every page shares: who is signed in and how to move between pages, links, and the rooms' icon. */
import { createContext, useContext, type ReactNode } from 'react';
import type { ChatUser } from './boot.js';
import { pathOf, type Route } from './route.js';

export interface AppContext {
  user: ChatUser | null;
  navigate: (route: Route) => void;
  /** Called with a session's user after sign-up or login (the browser stores the session). */
  signedIn: (user: ChatUser) => void;
  signOut: () => void;
}

export const Ctx = createContext<AppContext | null>(null);
export const useApp = (): AppContext => useContext(Ctx)!;

export function Link({ to, children, className }: { to: Route; children: ReactNode; className?: string }) {
  const { navigate } = useApp();
  return (
    <a
      href={pathOf(to)}
      className={className}
      onClick={(event) => {
        if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
        event.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}


/** `#` for a public room, a padlock for a private one. */
export function RoomIcon({ private: closed }: { private: boolean }) {
  if (!closed) return <span className="icon" aria-hidden="true">#</span>;
  return (
    <svg className="icon" viewBox="0 0 16 16" width="14" height="14" aria-label="private">
      <rect x="3" y="7" width="10" height="7" rx="1.5" fill="currentColor" />
      <path d="M5 7V5a3 3 0 0 1 6 0v2" fill="none" stroke="currentColor" strokeWidth="1.6" />
    </svg>
  );
}
