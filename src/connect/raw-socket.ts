/**
 * A raw TCP or TLS socket to a Redis endpoint, for the protocol steps the official client cannot
 * take (SYNC streams bytes that are not RESP). Failures become the same ConnectionErrors that
 * connect/ gives for ordinary connections.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { describeConnectError } from './client.js';
import type { Endpoint } from './url.js';

export function openRawSocket(endpoint: Endpoint, timeoutMs: number, signal?: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const socket: Socket = endpoint.tls
      ? tlsConnect({ host: endpoint.host, port: endpoint.port, servername: isIP(endpoint.host) ? undefined : endpoint.host })
      : netConnect({ host: endpoint.host, port: endpoint.port });
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
