/**
 * Server rendering of the first page, as the signed-in user (their access token from the cookie): the page's
 * reads are prefetched over HTTP with their token, rendered to HTML and dehydrated; the browser hydrates them and
 * its live queries resume from the prefetched `seq`.
 */
import { QueryClient, dehydrate } from '@tanstack/react-query';
import { renderToString } from 'react-dom/server';
import { prefetchFindMany, prefetchFindUnique } from './ssot/react.js';
import { createClient } from './ssot/ssot.js';
import { userOfToken, type Boot } from './boot.js';
import { messagesArgs, myRoomsArgs, publicRoomsArgs, roomArgs } from './queries.js';
import { parseRoute } from './route.js';
import { Root } from './Root.js';

export interface Rendered {
  html: string;
  boot: Boot;
  status: number;
}

export async function render(url: string, options: { apiUrl: string; serverApiUrl?: string; token: string | undefined }): Promise<Rendered> {
  const route = parseRoute(url);
  const status = route.name === 'notFound' ? 404 : 200;
  const user = userOfToken(options.token);
  if (!user) {
    // Signed out (or the token is expired: the browser refreshes its session and renders by itself).
    return { html: '', boot: { apiUrl: options.apiUrl, user: null, rendered: false }, status };
  }
  const client = createClient({ url: options.serverApiUrl ?? options.apiUrl, transport: 'http', token: options.token });
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  if (route.name === 'home') {
    await Promise.all([
      prefetchFindMany(queryClient, client, 'Membership', myRoomsArgs(user.id)),
      prefetchFindMany(queryClient, client, 'Room', publicRoomsArgs(user.id)),
    ]);
  }
  if (route.name === 'room') {
    await Promise.all([
      prefetchFindUnique(queryClient, client, 'Room', roomArgs(route.id)),
      prefetchFindMany(queryClient, client, 'Message', messagesArgs(route.id)),
    ]);
  }
  const state = dehydrate(queryClient);
  const context = { user, navigate: () => {}, signedIn: () => {}, signOut: () => {} };
  const html = renderToString(<Root queryClient={queryClient} client={client} live={false} state={state} route={route} context={context} />);
  return { html, boot: { apiUrl: options.apiUrl, user, rendered: true, state }, status };
}
