import { connect, type Socket } from 'node:net';

const START = 0x0b;
const END = Buffer.from([0x1c, 0x0d]);

/** A lab's interface engine, as far as a test needs one: MLLP frames over a real socket, ACKs read back in order. */
export class MllpClient {
  private buffer = Buffer.alloc(0);
  private readonly waiting: { resolve: (ack: string) => void; reject: (err: Error) => void }[] = [];
  private readonly acks: string[] = [];
  closed = false;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      for (let end = this.buffer.indexOf(END); end >= 0; end = this.buffer.indexOf(END)) {
        const ack = this.buffer.subarray(this.buffer.indexOf(START) + 1, end).toString('utf8');
        this.buffer = this.buffer.subarray(end + 2);
        const next = this.waiting.shift();
        if (next) next.resolve(ack);
        else this.acks.push(ack);
      }
    });
    socket.on('close', () => {
      this.closed = true;
      // what the service does when it cannot store or queue a message: the sender learns it at once
      for (const waiter of this.waiting.splice(0)) waiter.reject(new Error('no ACK: the connection was closed'));
    });
    socket.on('error', () => undefined);
  }

  static async open(port: number): Promise<MllpClient> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new MllpClient(socket);
  }

  /** Sends one framed message and resolves with its ACK (segments split on CR). */
  async send(message: string, timeoutMs = 10_000): Promise<string[]> {
    this.socket.write(Buffer.concat([Buffer.from([START]), Buffer.from(message, 'utf8'), END]));
    return (await this.nextAck(timeoutMs)).split('\r');
  }

  /** Writes raw bytes (a partial frame, noise). */
  write(bytes: Buffer | string): void {
    this.socket.write(bytes);
  }

  nextAck(timeoutMs = 10_000): Promise<string> {
    const ready = this.acks.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.closed) return Promise.reject(new Error('no ACK: the connection was closed'));
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (ack: string) => {
          clearTimeout(timer);
          resolve(ack);
        },
        reject: (err: Error) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(waiter), 1);
        reject(new Error('no ACK within the timeout'));
      }, timeoutMs);
      this.waiting.push(waiter);
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await new Promise<void>((resolve) => this.socket.end(resolve));
  }
}
