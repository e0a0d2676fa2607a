// The frame /ws broadcasts are written as: what a real WebSocket parser (ws's own receiver, as
// any client library would) reads back from it, at each of the three length encodings.
import t from 'tap';
import * as ws from 'ws';
import { textFrame } from '../src/ws-delivery.js';

// ws exports its frame parser at run time; @types/ws does not declare it.
type Parser = { on(event: string, fn: (...args: never[]) => void): void; write(chunk: Buffer): void };
const { Receiver } = ws as unknown as { Receiver: new (options: { isServer: boolean; maxPayload: number }) => Parser };

function parse(frame: Buffer): Promise<{ text: string; binary: boolean }> {
  return new Promise((resolve, reject) => {
    const receiver = new Receiver({ isServer: false, maxPayload: 1 << 20 });
    receiver.on('message', (data: Buffer, binary: boolean) => resolve({ text: data.toString('utf8'), binary }));
    receiver.on('error', reject);
    receiver.write(frame);
  });
}

for (const size of [0, 125, 126, 300, 65_535, 65_536, 200_000]) {
  t.test(`a ${size}-byte payload`, async (t) => {
    const text = JSON.stringify({ event: 'process:info', data: { pad: 'x'.repeat(Math.max(0, size - 40)) } }).slice(0, size).padEnd(size, ' ');
    const frame = textFrame(Buffer.from(text));
    const got = await parse(frame);
    t.equal(got.binary, false, 'a text frame');
    t.equal(got.text, text, 'the payload, whole');
  });
}
