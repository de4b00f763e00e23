import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { ServiceConfig } from '@app/config';
import { buildAck, MAX_HL7_MESSAGE_BYTES } from '@app/interop';
import { CLOCK, SERVICE_CONFIG } from '@app/platform';
import type { Clock } from '@app/store';
import { Hl7Intake } from './hl7-intake';

/** MLLP framing: <VT> message <FS><CR>. */
const START = 0x0b;
const END = 0x1c;
const CR = 0x0d;
const IDLE_MS = 5 * 60_000;
/**
 * Messages read from one connection and not yet answered. A sender that does not wait for its ACKs is no longer read
 * from past this (the socket is paused until the answers catch up), so one connection holds at most a few messages
 * in memory, not everything it can send.
 */
export const MLLP_MAX_PENDING = 4;

/**
 * HL7 v2 over MLLP (TCP): each framed message is handed to the intake and answered with its ACK on the same
 * connection, one at a time and in order. A message cut off by a disconnect was never acknowledged, so the
 * sender resends it; when the message cannot be stored or queued, no ACK is sent and the connection is closed,
 * which is the sender's cue to resend.
 */
@Injectable()
export class MllpListener implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('MllpListener');
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly intake: Hl7Intake,
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const server = createServer((socket) => this.serve(socket));
    // more connections than this are closed as they connect (Node counts them)
    server.maxConnections = this.config.MLLP_MAX_CONNECTIONS;
    server.on('error', (err) => this.logger.error(`MLLP listener error: ${err.message}`));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.config.MLLP_PORT, this.config.MLLP_HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.logger.log(`MLLP listening on ${this.config.MLLP_HOST}:${this.port()}`);
  }

  /** Connections open now (at most MLLP_MAX_CONNECTIONS). */
  openConnections(): number {
    return this.sockets.size;
  }

  /** The port bound (MLLP_PORT, or the one picked when it is 0). */
  port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.server) return;
    const closed = new Promise<void>((resolve) => this.server!.close(() => resolve()));
    for (const socket of this.sockets) socket.end();
    setTimeout(() => this.sockets.forEach((s) => s.destroy()), 2000).unref();
    await closed;
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.setTimeout(IDLE_MS, () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined); // a peer resetting the connection is not our failure
    let buffer = Buffer.alloc(0);
    let queue = Promise.resolve();
    let pending = 0;
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const start = buffer.indexOf(START);
        if (start < 0) {
          buffer = Buffer.alloc(0); // bytes outside a frame are noise
          return;
        }
        const end = buffer.indexOf(END, start + 1);
        if (end < 0 || end + 1 >= buffer.length) {
          if (buffer.length - start > MAX_HL7_MESSAGE_BYTES + 2) {
            // larger than any message we take: refuse and hang up rather than buffer without bound
            const text = `message larger than ${MAX_HL7_MESSAGE_BYTES} bytes`;
            socket.end(frame(buildAck({ code: 'AR', message: null, controlId: '', text, now: this.clock.now() })));
            buffer = Buffer.alloc(0);
          } else buffer = buffer.subarray(start);
          return;
        }
        if (buffer[end + 1] !== CR) {
          buffer = buffer.subarray(end + 1); // a broken frame: skip to the next start
          continue;
        }
        const message = buffer.subarray(start + 1, end).toString('utf8');
        buffer = buffer.subarray(end + 2);
        pending += 1;
        if (pending >= MLLP_MAX_PENDING) socket.pause();
        queue = queue
          .then(() => this.answer(socket, message))
          .finally(() => {
            pending -= 1;
            if (pending < MLLP_MAX_PENDING && socket.isPaused() && !socket.destroyed) socket.resume();
          });
      }
    });
  }

  private async answer(socket: Socket, message: string): Promise<void> {
    if (socket.destroyed) return;
    try {
      const { ack } = await this.intake.receive(message, 'mllp');
      if (!socket.destroyed) socket.write(frame(ack));
    } catch (err) {
      this.logger.warn(`MLLP message not acknowledged: ${(err as Error).message}`);
      socket.destroy();
    }
  }
}

function frame(message: string): Buffer {
  return Buffer.concat([Buffer.from([START]), Buffer.from(message, 'utf8'), Buffer.from([END, CR])]);
}
