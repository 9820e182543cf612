/**
 * `<SsotProvider client={client}>`: puts an ssot client (and its live bridge to the surrounding
 * `QueryClientProvider`'s query client) in React context for the hooks; `useSsotClient()` reads the client back.
 * Written with `createElement` rather than JSX so that the adapter compiles in projects without a JSX setting.
 */
import { createContext, createElement, useContext, type ReactElement, type ReactNode } from 'react';
import { useQueryClient, type QueryClient, type QueryKey } from '@tanstack/react-query';
import type { SchemaTypes, SsotClient, SsotError } from '../index.js';
import { bridgeFor, type LiveBridge } from './bridge.js';
import type { RegisteredSchema } from './keys.js';
import type { AnyClient } from './specs.js';

export interface SsotProviderProps<S extends SchemaTypes> {
  client: SsotClient<S>;
  children?: ReactNode;
  /**
   * Whether hooks follow their reads live by default (default: in a browser, yes; on a server, where there is no
   * `window`, no: server rendering reads, it never subscribes).
   */
  live?: boolean;
  /** How long (ms) a subscription or channel no component uses any more is kept before it ends (default 1000). */
  lingerMs?: number;
  /** Hears a live subscription the server refused; the hook then shows a plain read instead. */
  onLiveError?: (error: SsotError, queryKey: QueryKey) => void;
  /** The query client, when it is not the surrounding `QueryClientProvider`'s. */
  queryClient?: QueryClient;
}

const SsotContext = createContext<LiveBridge | null>(null);

export function SsotProvider<S extends SchemaTypes>(props: SsotProviderProps<S>): ReactElement {
  const queryClient = useQueryClient(props.queryClient);
  const bridge = bridgeFor(props.client as unknown as AnyClient, queryClient);
  bridge.options = {
    live: props.live ?? typeof window !== 'undefined',
    lingerMs: props.lingerMs ?? 1_000,
    onLiveError: props.onLiveError,
  };
  return createElement(SsotContext.Provider, { value: bridge }, props.children);
}

/** The bridge of the nearest `SsotProvider` (the hooks' way to the client and the query client). */
export function useBridge(): LiveBridge {
  const bridge = useContext(SsotContext);
  if (!bridge) throw new Error('ssot: this hook needs an <SsotProvider client={...}> above it (inside a QueryClientProvider)');
  return bridge;
}

/** The client of the nearest `SsotProvider`, typed by `S` (the registered schema by default). */
export function useSsotClient<S extends SchemaTypes = RegisteredSchema>(): SsotClient<S> {
  return useBridge().client as unknown as SsotClient<S>;
}
