/**
 * A tiny RESP2 client for the RDB tests and bench, over resp/'s request/reply client: commands
 * answered in order, bulk strings as Buffers, error replies thrown.
 */
import { RespClient } from '../src/resp/index.js';

export type Reply = string | number | Buffer | null | Reply[];

/** resp/'s RespClient with this helper's reply shape; no password (the RDB tests' servers have none). */
export class MiniClient {
  private constructor(private readonly client: RespClient) {}

  static async connect(port: number): Promise<MiniClient> {
    // SAVE and DEBUG RELOAD of the benches' large datasets take minutes
    return new MiniClient(await RespClient.open({ host: '127.0.0.1', port, tls: false, db: 0 }, { commandTimeoutMs: 600_000 }));
  }

  async send(...args: Array<string | Buffer | number>): Promise<Reply> {
    return this.client.sendBinary<Reply>(args.map((a) => (typeof a === 'number' ? String(a) : a)));
  }

  /** sends a command and returns the reply as text (for status, integer and bulk replies) */
  async text(...args: Array<string | Buffer | number>): Promise<string> {
    const reply = await this.send(...args);
    return Buffer.isBuffer(reply) ? reply.toString() : String(reply);
  }

  close(): void {
    this.client.destroy();
  }
}
