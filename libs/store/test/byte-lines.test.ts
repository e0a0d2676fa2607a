// ByteLines writes numbers and text as JSON.stringify would, grows past its size, and starts empty
// again after a reset: a tick's events are written through it, then the next tick's into the same memory.
import t from 'tap';
import { ByteLines } from '../src/index.js';

t.test('numbers come out as JSON.stringify writes them', async (t) => {
  const values = [
    0, -0, 1, 9, 10, 99, 100, 12_345, 999_999_999, 1_000_000_000, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 5, 2 ** 53 - 1, 2 ** 53, -(2 ** 53 - 1),
    -1, -10, -(2 ** 31), 0.5, 55.56, 1e-7, 0.1 + 0.2, 1234.5, 1e21, 1e21 + 0.5, -3.25, Number.MAX_VALUE, Number.MIN_VALUE,
    Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY,
  ];
  for (const v of values) {
    const out = new ByteLines(1);
    out.number(v);
    t.equal(out.view().toString('latin1'), JSON.stringify(v), `${String(v)}`);
  }
});

t.test('text, bytes and single bytes in order; it grows, and a reset empties it', async (t) => {
  const out = new ByteLines(1);
  const long = 'x'.repeat(5000);
  out.string('é✓😀');
  out.byte(0x0a);
  out.bytes(Buffer.from('short'));
  out.bytes(Buffer.from(long));
  out.number(42);
  const expected = `é✓😀\nshort${long}42`;
  t.equal(out.view().toString('utf8'), expected, 'everything, in order, past the size it started with');
  t.equal(out.length, Buffer.byteLength(expected));
  t.equal(out.lastIndexOf(0x0a), Buffer.byteLength('é✓😀'), 'the newline is found, searching back from the end');
  out.reset();
  t.equal(out.length, 0, 'empty after a reset');
  out.string('again');
  t.equal(out.view().toString(), 'again', 'nothing of before is left');
  t.equal(out.lastIndexOf(0x78), -1, 'what lies past the end is not looked at');
  out.reset();
  t.equal(out.lastIndexOf(0x78), -1, 'nor in an empty one');
});
