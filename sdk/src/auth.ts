/**
 * `client.auth`: sign-up, login, refresh, logout and `me` (docs/auth.md). These always go over HTTP (the
 * socket has no auth endpoints). A session they open becomes the client's credentials: the token manager
 * refreshes it before expiry, and the socket re-authenticates with each new access token.
 */
import type { HttpTransport } from './http.js';
import type { Session, TokenManager } from './tokens.js';
import type { Obj, RequestOptions } from './types.js';

export class AuthApi<User = Obj> {
  constructor(
    private readonly http: HttpTransport,
    private readonly tokens: TokenManager,
  ) {
    tokens.refresher = async (refreshToken) => {
      const result = await http.send('POST', '/api/auth/refresh', { refreshToken }, { anonymous: true });
      return result.body as Session;
    };
  }

  /** The session in use, if one was opened by `signup`/`login`. */
  get session(): Session<User> | undefined {
    return this.tokens.currentSession as Session<User> | undefined;
  }

  /** Creates the account (the user model's fields, identity and password included) and signs in. */
  async signup(data: Obj, options?: RequestOptions): Promise<Session<User>> {
    return this.open(await this.http.send('POST', '/api/auth/signup', data, { ...options, anonymous: true }));
  }

  async login(credentials: Obj, options?: RequestOptions): Promise<Session<User>> {
    return this.open(await this.http.send('POST', '/api/auth/login', credentials, { ...options, anonymous: true }));
  }

  /** Renews the access token now (it is also done by itself before expiry); false when refused or none. */
  refresh(): Promise<boolean> {
    return this.tokens.refresh();
  }

  /** Ends the session on the server and forgets it here (the socket goes on as anonymous). */
  async logout(options?: RequestOptions): Promise<void> {
    const session = this.tokens.currentSession;
    if (!session) return;
    try {
      const body = session.refreshToken ? { refreshToken: session.refreshToken } : undefined;
      await this.http.send('POST', '/api/auth/logout', body, { ...options, token: session.accessToken });
    } finally {
      this.tokens.setSession(undefined);
    }
  }

  /** The signed-in user's row as it is now. */
  async me(options?: RequestOptions): Promise<User> {
    return (await this.http.send('GET', '/api/auth/me', undefined, options)).body as User;
  }

  private open(result: { body: unknown }): Session<User> {
    const session = result.body as Session<User>;
    this.tokens.setSession(session as Session);
    return session;
  }
}
