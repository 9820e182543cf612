/**
 * `@ssot/client/react`: React hooks over the client runtime, on TanStack Query (react 19 and
 * @tanstack/react-query 5 are peer dependencies). The provider, the generic read, write and channel hooks, query
 * keys, and the server-rendering helpers. Files here import the runtime only through relative paths (`../index.js`)
 * and otherwise only 'react' and '@tanstack/react-query': the generator copies them as they are.
 */
export { SsotProvider, useSsotClient, type SsotProviderProps } from './provider.js';
export {
  useCount,
  useFindMany,
  useFindUnique,
  useSearch,
  useSuspenseCount,
  useSuspenseFindMany,
  useSuspenseFindUnique,
  type CountArgs,
  type LiveOption,
  type SsotQueryOptions,
  type SsotSuspenseQueryOptions,
} from './queries.js';
export { useAction, useCreate, useDelete, useUpdate, type DeleteMutationOptions, type SsotMutationOptions, type UpdateMutationOptions } from './mutations.js';
export { useChannel, usePresence, type ChannelHandle, type ChannelOptions, type ChannelStatus } from './channels.js';
export {
  countQueryOptions,
  findManyQueryOptions,
  findUniqueQueryOptions,
  prefetchCount,
  prefetchFindMany,
  prefetchFindUnique,
  prefetchSearch,
  searchQueryOptions,
  type SsotFetchOptions,
} from './ssr.js';
export { ssotModelKey, ssotQueryKey, type Register, type RegisteredSchema, type SsotOperation, type SsotQueryData, type SsotQueryKey } from './keys.js';
