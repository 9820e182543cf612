/**
 * The public surface of `@ssot/client`: `createClient` and the types and classes an application or generated
 * code names. Everything else is internal to the modules.
 */
export { createClient, SsotClient, type ClientOptions } from './client.js';
export { ModelDelegate, seqOf, type CallOptions, type WriteOptions, type CreateArgs, type UpdateArgs, type UniqueArgs, type CountArgs, type BatchCount, type Subset } from './delegate.js';
export { LiveQuery, type LiveChange, type LiveEvent, type LiveOp, type LiveStart, type LiveState } from './live.js';
export { Channel, type Member, type PresenceEvent } from './channels.js';
export { NormalizedCache, keyOf } from './cache.js';
export { HttpTransport, type HttpTransportOptions } from './http.js';
export { WebSocketTransport, type ConnectionStatus, type StatusInfo, type WebSocketTransportOptions } from './ws.js';
export { AuthApi } from './auth.js';
export { TokenManager, jwtExpiry, type Session, type GetToken, type TokenOptions } from './tokens.js';
export { backoffDelay, type BackoffOptions } from './backoff.js';
export { SsotError, NetworkError, TimeoutError, ConnectionLostError, ClosedError, type Problem, type ProblemFieldError } from './errors.js';
export type {
  Action,
  BatchAnswers,
  BatchOp,
  BatchResult,
  DataClient,
  IdValue,
  Json,
  ListArgs,
  ModelMeta,
  ModelTypes,
  Obj,
  Operation,
  OperationResult,
  Page,
  RequestOptions,
  RelationInfo,
  Result,
  RowOf,
  SearchArgs,
  SearchOptions,
  SearchPage,
  ScalarsOf,
  AuthUser,
  Simplify,
  UniqueOf,
  SchemaTypes,
  ShapeArgs,
  UntypedModel,
  UntypedSchema,
  WebSocketConstructor,
  WebSocketLike,
} from './types.js';
