/**
 * A pipelined writer connected to an endpoint: TCP (read into one reused buffer) or TLS, then the
 * handshake (AUTH, CLIENT SETNAME, SELECT, PING) checked before the writer is handed over; a refusal
 * reads like any other refused connection.
 */
import { describeConnectError } from '../connect/client.js';
import { openRawSocket, type RawReader } from '../connect/raw-socket.js';
import type { Endpoint } from '../connect/url.js';
import type { CommandArg } from './encode.js';
import { RespPipeline, type ReplyHandler } from './pipeline.js';

export interface OpenPipelineOptions<T> {
  onReply?: ReplyHandler<T>;
  /** deadline for the connect, and then for the handshake (default 10 s) */
  connectTimeoutMs?: number;
  /** CLIENT SETNAME */
  name?: string;
  /** a wait for replies that sees no progress this long fails (default: none) */
  stallTimeoutMs?: number;
}

const READ_BUFFER = 64 * 1024;

export async function openPipeline<T>(endpoint: Endpoint, options: OpenPipelineOptions<T> = {}): Promise<RespPipeline<T>> {
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  let pipeline: RespPipeline<T> | undefined;
  const reader: RawReader = { bufferBytes: READ_BUFFER, receive: (chunk) => pipeline?.receive(chunk) };
  const socket = await openRawSocket(endpoint, connectTimeoutMs, undefined, reader);
  pipeline = new RespPipeline<T>(socket, { stallTimeoutMs: options.stallTimeoutMs, where: `${endpoint.host}:${endpoint.port}`, externalReads: true });
  const handshake: CommandArg[][] = [];
  if (endpoint.password !== undefined) handshake.push(endpoint.username ? ['AUTH', endpoint.username, endpoint.password] : ['AUTH', endpoint.password]);
  if (options.name) handshake.push(['CLIENT', 'SETNAME', options.name]);
  if (endpoint.db) handshake.push(['SELECT', String(endpoint.db)]);
  handshake.push(['PING']);
  try {
    await pipeline.handshake(handshake, connectTimeoutMs);
  } catch (error) {
    socket.destroy();
    throw describeConnectError(error, endpoint);
  }
  pipeline.onReply = options.onReply;
  return pipeline;
}
