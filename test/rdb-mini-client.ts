/**
 * A tiny RESP2 client for the RDB tests and bench, over resp/'s encoder and decoder: pipelined
 * commands, replies in order, bulk strings as Buffers, error replies thrown.
 */
import { Socket } from 'node:net';
import { encodeCommand, RespDecoder, RespError as RespDecoderError, type RespReply } from '../src/resp/index.js';

export type Reply = string | number | Buffer | null | Reply[];

export class RespError extends Error {}

/** A minimal RESP2 client over resp/'s encoder and decoder: pipelined commands, replies in order. */
export class MiniClient {
  private readonly socket: Socket;
  private readonly decoder = new RespDecoder((reply) => this.onReply(reply));
  private readonly waiting: Array<{ resolve(reply: Reply): void; reject(error: Error): void }> = [];
  private closedError: Error | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    const fail = (error: Error): void => {
      this.closedError ??= error;
      for (const w of this.waiting.splice(0)) w.reject(error);
    };
    socket.on('data', (data: Buffer) => {
      try {
        this.decoder.write(data);
      } catch (error) {
        fail(error as Error);
        socket.destroy();
      }
    });
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  static connect(port: number): Promise<MiniClient> {
    return new Promise((resolve, reject) => {
      const socket = new Socket();
      socket.once('error', reject);
      socket.connect(port, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve(new MiniClient(socket));
      });
    });
  }

  send(...args: Array<string | Buffer | number>): Promise<Reply> {
    if (this.closedError) return Promise.reject(this.closedError);
    this.socket.write(encodeCommand(args.map((a) => (typeof a === 'number' ? String(a) : a))));
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** sends a command and returns the reply as text (for status, integer and bulk replies) */
  async text(...args: Array<string | Buffer | number>): Promise<string> {
    const reply = await this.send(...args);
    return Buffer.isBuffer(reply) ? reply.toString() : String(reply);
  }

  close(): void {
    this.socket.destroy();
  }

  private onReply(reply: RespReply): void {
    const waiter = this.waiting.shift();
    if (!waiter) return;
    try {
      waiter.resolve(plainReply(reply));
    } catch (error) {
      waiter.reject(error as Error);
    }
  }
}

/** The decoder's reply in this helper's shape: errors thrown (nested ones too), integers as numbers. */
function plainReply(reply: RespReply): Reply {
  if (reply instanceof RespDecoderError) throw new RespError(reply.message);
  if (typeof reply === 'bigint') return Number(reply);
  if (Array.isArray(reply)) return reply.map(plainReply);
  return reply;
}
