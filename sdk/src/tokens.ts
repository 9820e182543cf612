/**
 * The caller's credentials: a fixed token, a `getToken` callback, or a session from `auth.login`/`signup`
 * (access and refresh tokens). Owns refreshing a session before its access token expires, so neither an HTTP
 * request nor the socket (which the server closes with 4401 at expiry) ever runs on an expired token.
 */
import { SsotError } from './errors.js';
import type { Obj } from './types.js';

/** A session as `/api/auth/signup`, `login` and `refresh` answer it. */
export interface Session<User = Obj> {
  accessToken: string;
  tokenType: string;
  expiresIn: number;
  sessionId: string;
  user: User;
  refreshToken?: string;
}

export type GetToken = () => string | null | undefined | Promise<string | null | undefined>;

export interface TokenOptions {
  token?: string;
  getToken?: GetToken;
  /** Refresh this long before expiry (default 60 s; at most half the token's lifetime). */
  refreshSkewMs?: number;
}

/** `exp` of a JWT in milliseconds, or undefined for a token that is not a JWT (the admin key). */
export function jwtExpiry(token: string): number | undefined {
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    const text = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
    const claims: unknown = JSON.parse(text);
    if (claims && typeof claims === 'object' && 'exp' in claims && typeof claims.exp === 'number') {
      return claims.exp * 1000;
    }
  } catch {
    // Not a JWT: no expiry to plan for.
  }
  return undefined;
}

/** Keeps a timer from holding a Node process open; browsers' timers have no `unref`. */
export function unref(timer: unknown): void {
  const t = timer as { unref?: () => void };
  if (typeof t?.unref === 'function') t.unref();
}

export class TokenManager {
  private session: Session | undefined;
  private sessionIssuedAt = 0;
  private refreshing: Promise<boolean> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly listeners = new Set<(token: string | undefined) => void>();
  private readonly skew: number;
  /** How to refresh: set by the client (an HTTP call to `/api/auth/refresh`). */
  refresher: ((refreshToken: string) => Promise<Session>) | undefined;
  /** Called when a session could not be refreshed and was dropped. */
  onSessionLost: ((error: unknown) => void) | undefined;

  constructor(private readonly options: TokenOptions) {
    this.skew = options.refreshSkewMs ?? 60_000;
  }

  get currentSession(): Session | undefined {
    return this.session;
  }

  /** The token to send now, refreshing a session whose access token is (nearly) expired first. */
  async get(): Promise<string | undefined> {
    if (this.session) {
      if (Date.now() >= this.refreshAt() && this.session.refreshToken) await this.refresh();
      if (this.session) return this.session.accessToken;
    }
    if (this.options.getToken) return (await this.options.getToken()) ?? undefined;
    return this.options.token;
  }

  /** Subscribes to token changes (a new session, a refresh, a logout): the socket re-authenticates. */
  onChange(listener: (token: string | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  setSession(session: Session | undefined): void {
    this.session = session;
    this.sessionIssuedAt = Date.now();
    this.schedule();
    const token = session?.accessToken ?? this.options.token;
    for (const listener of this.listeners) listener(token);
  }

  /** Refreshes the session now (one refresh at a time); false when there is none or it was refused. */
  refresh(): Promise<boolean> {
    const session = this.session;
    if (!session?.refreshToken || !this.refresher) return Promise.resolve(false);
    this.refreshing ??= this.refresher(session.refreshToken)
      .then((next) => {
        this.setSession(next);
        return true;
      })
      .catch((error: unknown) => {
        // A refused refresh token (used, revoked, session ended) will never work again; a network failure may.
        if (error instanceof SsotError && error.status === 401 && this.session === session) {
          this.setSession(undefined);
          this.onSessionLost?.(error);
        }
        return false;
      })
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** When to refresh: `skew` before expiry, but no earlier than half-way through the token's life. */
  private refreshAt(): number {
    if (!this.session) return Infinity;
    const expires = jwtExpiry(this.session.accessToken) ?? this.sessionIssuedAt + this.session.expiresIn * 1000;
    const lifetime = expires - this.sessionIssuedAt;
    return this.sessionIssuedAt + Math.max(lifetime - this.skew, lifetime / 2);
  }

  private schedule(): void {
    this.stop();
    if (!this.session?.refreshToken) return;
    const delay = Math.max(0, this.refreshAt() - Date.now());
    this.timer = setTimeout(() => void this.refresh(), delay);
    unref(this.timer);
  }
}
