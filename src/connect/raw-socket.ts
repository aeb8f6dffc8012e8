/**
 * A raw TCP or TLS socket to a Redis endpoint, for the protocol steps the official client cannot
 * take (SYNC streams bytes that are not RESP). Failures become the same ConnectionErrors that
 * connect/ gives for ordinary connections.
 */
import { createRequire } from 'node:module';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { describeConnectError } from './client.js';
import type { Endpoint } from './url.js';

/**
 * Where a socket's bytes go instead of 'data' events: `receive(chunk, transient)`. Over plain TCP
 * the socket reads into one reused buffer of `bufferBytes` (the chunk is then transient: valid only
 * during the call); over TLS, chunks come from 'data' events and are not transient.
 */
export interface RawReader {
  bufferBytes: number;
  receive(chunk: Buffer, transient: boolean): void;
}

// node:tls (with what it loads, ~3 ms of every start) only for TLS endpoints
const tls = (): typeof import('node:tls') => createRequire(import.meta.url)('node:tls') as typeof import('node:tls');

export function openRawSocket(endpoint: Endpoint, timeoutMs: number, signal?: AbortSignal, reader?: RawReader): Promise<Socket> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    // `onread` is accepted by net.connect() since Node 12; @types/node types it on connect options
    const onread =
      reader && !endpoint.tls
        ? {
            buffer: Buffer.allocUnsafeSlow(reader.bufferBytes),
            callback: (bytes: number, buffer: Uint8Array) => (reader.receive(Buffer.from(buffer.buffer, buffer.byteOffset, bytes), true), true),
          }
        : undefined;
    const socket: Socket = endpoint.tls
      ? tls().connect({ host: endpoint.host, port: endpoint.port, servername: isIP(endpoint.host) ? undefined : endpoint.host })
      : netConnect({ host: endpoint.host, port: endpoint.port, onread });
    if (reader && endpoint.tls) socket.on('data', (chunk: Buffer) => reader.receive(chunk, false));
    const ready = endpoint.tls ? 'secureConnect' : 'connect';
    const cleanup = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.removeListener('error', onError);
      socket.removeListener(ready, onReady);
    };
    const onAbort = (): void => {
      cleanup();
      socket.destroy();
      reject(signal!.reason);
    };
    const onError = (error: Error): void => {
      cleanup();
      socket.destroy();
      reject(describeConnectError(error, endpoint));
    };
    const onReady = (): void => {
      cleanup();
      socket.setNoDelay(true);
      resolve(socket);
    };
    const timer = setTimeout(() => onError(new Error('connect timeout')), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('error', onError);
    socket.once(ready, onReady);
  });
}
