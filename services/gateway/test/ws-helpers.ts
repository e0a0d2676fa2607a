// A /ws test client on the `ws` package: JSON frames, acks matched by id, events collected.
import WebSocket from 'ws';
import { WS_PATH } from '@vigil/protocol';
import { ALL_ACCESS_TOKEN } from './helpers.js';

export type WsAck = { ok: boolean; error?: { code: string; message: string }; [k: string]: unknown };
/** `token`: ALL_ACCESS_TOKEN unless given (null: none); `autoPong: false`: a peer that never answers pings. */
type OpenOptions = { token?: string | null; headers?: Record<string, string>; path?: string; autoPong?: boolean };
export type Refused = { status: number; body: { error?: { code: string; message: string } } };

export class WsTestClient {
  readonly ws: WebSocket;
  /** Every `{ event, data }` frame, in arrival order. */
  readonly events: Array<{ event: string; data: unknown }> = [];
  /** Acks that came with an id nobody waits for (null ids: malformed frames). */
  readonly strayAcks: Array<{ id: unknown; ack: WsAck }> = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #nextId = 1;
  readonly #waiting = new Map<number, (ack: WsAck) => void>();

  private constructor(ws: WebSocket) {
    this.ws = ws;
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('message', (raw, isBinary) => {
      if (isBinary) throw new Error('the gateway sent a binary frame');
      const frame = JSON.parse(raw.toString()) as { id?: unknown; ack?: WsAck; event?: string; data?: unknown };
      if ('ack' in frame) {
        const resolve = typeof frame.id === 'number' ? this.#waiting.get(frame.id) : undefined;
        if (resolve) {
          this.#waiting.delete(frame.id as number);
          resolve(frame.ack!);
        } else this.strayAcks.push({ id: frame.id, ack: frame.ack! });
      } else this.events.push({ event: frame.event!, data: frame.data });
    });
  }

  /** Opens /ws on a gateway (`http://…` URL) with `Authorization: Bearer <token>` (ALL_ACCESS_TOKEN unless given; null: none). */
  static async connect(url: string, options: OpenOptions = {}): Promise<WsTestClient> {
    const result = await WsTestClient.open(url, options);
    if (!(result instanceof WsTestClient)) throw new Error(`/ws refused: ${result.status} ${JSON.stringify(result.body)}`);
    return result;
  }

  /** Like connect, but a refused upgrade resolves to its HTTP status and body. */
  static open(url: string, options: OpenOptions = {}): Promise<WsTestClient | Refused> {
    const token = options.token === undefined ? ALL_ACCESS_TOKEN : options.token;
    const headers = { ...(token !== null ? { authorization: `Bearer ${token}` } : {}), ...options.headers };
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}${options.path ?? WS_PATH}`, { headers, autoPong: options.autoPong ?? true });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new WsTestClient(ws)));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body ? (JSON.parse(body) as Refused['body']) : {} }));
      });
      ws.once('error', reject);
    });
  }

  /** Sends `{ id, event, data }` and resolves to its ack. */
  request(event: string, data?: unknown): Promise<WsAck> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ack for ${event} (id ${id})`)), 10_000);
      this.#waiting.set(id, (ack) => {
        clearTimeout(timer);
        resolve(ack);
      });
      this.ws.send(JSON.stringify(data === undefined ? { id, event } : { id, event, data }));
    });
  }

  /** Sends a raw text (or binary) frame. */
  sendRaw(frame: string | Buffer, binary = false): void {
    this.ws.send(frame, { binary });
  }

  /** The data of every `event` received so far. */
  got<T>(event: string): T[] {
    return this.events.filter((e) => e.event === event).map((e) => e.data as T);
  }

  close(): void {
    this.ws.close();
  }
}
