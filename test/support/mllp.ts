import { connect, type Socket } from 'node:net';

const START = 0x0b;
const END = Buffer.from([0x1c, 0x0d]);

/** A lab's interface engine, as far as a test needs one: MLLP frames over a real socket, ACKs read back in order. */
export class MllpClient {
  private buffer = Buffer.alloc(0);
  private readonly waiting: ((ack: string) => void)[] = [];
  private readonly acks: string[] = [];
  closed = false;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      for (let end = this.buffer.indexOf(END); end >= 0; end = this.buffer.indexOf(END)) {
        const ack = this.buffer.subarray(this.buffer.indexOf(START) + 1, end).toString('utf8');
        this.buffer = this.buffer.subarray(end + 2);
        const next = this.waiting.shift();
        if (next) next(ack);
        else this.acks.push(ack);
      }
    });
    socket.on('close', () => (this.closed = true));
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
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no ACK within the timeout')), timeoutMs);
      this.waiting.push((ack) => {
        clearTimeout(timer);
        resolve(ack);
      });
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
