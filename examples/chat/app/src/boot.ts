import type { DehydratedState } from '@tanstack/react-query';

/** Who the page is for, as the token says (the server reads it from the cookie; the browser from its session). */
export interface ChatUser {
  id: string;
  name: string;
  email: string;
}

/** What the server tells the browser beside the HTML (`window.__CHAT__`). */
export interface Boot {
  /** The ssot server's base URL, as the browser reaches it. */
  apiUrl: string;
  /** The user the page was rendered for (null: rendered signed out). */
  user: ChatUser | null;
  /** Whether #root holds server-rendered markup to hydrate. */
  rendered: boolean;
  /** The prefetched queries (dehydrated). */
  state?: DehydratedState;
}

/** The user a JWT access token names (its claims: `sub` and the user's fields), or null when expired or malformed. */
export function userOfToken(token: string | undefined, now = Date.now()): ChatUser | null {
  if (!token) return null;
  try {
    const part = token.split('.')[1]!;
    const json = typeof atob === 'function' ? atob(part.replace(/-/g, '+').replace(/_/g, '/')) : Buffer.from(part, 'base64url').toString();
    const claims = JSON.parse(decodeURIComponent(escape(json))) as { sub?: string; id?: string; name?: string; email?: string; exp?: number };
    if (typeof claims.exp === 'number' && claims.exp * 1000 < now + 5_000) return null;
    const id = claims.id ?? claims.sub;
    if (!id) return null;
    return { id, name: claims.name ?? '', email: claims.email ?? '' };
  } catch {
    return null;
  }
}

export const TOKEN_COOKIE = 'chat_token';
