import { HydrationBoundary, QueryClientProvider, type DehydratedState, type QueryClient } from '@tanstack/react-query';
import { SsotProvider } from './ssot/react.js';
import type { createClient } from './ssot/ssot.js';
import { App } from './App.js';
import type { AppContext } from './context.js';
import type { Route } from './route.js';

/** The whole tree, the same on the server and in the browser. */
export function Root(props: {
  queryClient: QueryClient;
  client: ReturnType<typeof createClient>;
  live: boolean;
  state: DehydratedState | undefined;
  route: Route;
  context: AppContext;
}) {
  return (
    <QueryClientProvider client={props.queryClient}>
      <SsotProvider client={props.client} live={props.live}>
        <HydrationBoundary state={props.state}>
          <App route={props.route} context={props.context} />
        </HydrationBoundary>
      </SsotProvider>
    </QueryClientProvider>
  );
}
