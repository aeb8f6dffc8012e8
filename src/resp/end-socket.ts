import type { Socket } from 'node:net';

/** Ends a socket after what was written; destroys it if the peer has not closed within `lingerMs`. */
export function endSocket(socket: Socket, lingerMs = 1000): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    socket.once('close', () => resolve());
    socket.end();
    setTimeout(() => socket.destroy(), lingerMs).unref();
  });
}
