/** The app's three places, read from a path; the same parser runs on the server and in the browser. */
export type Route = { name: 'home' } | { name: 'room'; id: number } | { name: 'notFound' };

export function parseRoute(pathname: string): Route {
  const path = pathname.split('?')[0]!.replace(/\/+$/, '') || '/';
  if (path === '/') return { name: 'home' };
  const room = /^\/rooms\/(\d+)$/.exec(path);
  if (room) return { name: 'room', id: Number(room[1]) };
  return { name: 'notFound' };
}

export function pathOf(route: Route): string {
  return route.name === 'room' ? `/rooms/${route.id}` : '/';
}
