// Which level a line is at, as documented in the README: JSON lines by their `level` field,
// text lines only by a few unambiguous prefixes; everything else takes the stream's default.
import t from 'tap';
import { levelOfNumber, parseJsonLine, textLevel } from '../src/levels.js';
import { LineSplitter } from '../src/follower-stdio.js';
import { MAX_LINE_BYTES, utf8Boundary } from '../src/follower.js';

t.test('pino/bunyan numeric levels, custom levels to the nearest below', async (t) => {
  t.same([10, 20, 30, 40, 50, 60].map(levelOfNumber), ['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
  t.same([0, 25, 35, 45, 55, 100].map(levelOfNumber), ['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
});

t.test('JSON lines: level, message, time and metadata', async (t) => {
  const pino = parseJsonLine('{"level":40,"time":1795266163373,"pid":1,"hostname":"h","msg":"slow","ms":812,"req":{"id":7},"v":1}');
  t.same(pino, { level: 'warn', message: 'slow', time: 1795266163373, fields: { ms: 812, req: { id: 7 } } });
  t.equal(parseJsonLine('{"level":"WARNING","message":"m"}')!.level, 'warn', 'string levels, any case');
  const names: Array<[string, string]> = [['warning', 'warn'], ['err', 'error'], ['critical', 'fatal'], ['crit', 'fatal'], ['panic', 'fatal'], ['Trace', 'trace'], ['DEBUG', 'debug']];
  for (const [name, level] of names) t.equal(parseJsonLine(JSON.stringify({ level: name, msg: 'x' }))!.level, level, `"${name}"`);
  const odd = parseJsonLine('{"level":"verbose","msg":"x"}')!;
  t.equal(odd.level, null, 'an unknown level name: the stream default');
  t.equal(odd.fields.level, 'verbose', 'and kept in metadata');
  t.equal(parseJsonLine('{"time":"2026-11-21T12:00:00.000Z","msg":"x"}')!.time, Date.UTC(2026, 10, 21, 12), 'ISO time (bunyan)');
  t.equal(parseJsonLine('{"timestamp":1795266163.5,"msg":"x"}')!.time, 1795266163500, 'epoch seconds');
  const bad = parseJsonLine('{"time":"yesterday","msg":"x"}')!;
  t.same([bad.time, bad.fields.time], [null, 'yesterday'], 'an unparseable time stays in metadata');
  t.equal(parseJsonLine('{"level":30}')!.message, '{"level":30}', 'no msg: the line itself');
  t.equal(parseJsonLine('{"msg":{"a":1}}')!.message, '{"a":1}', 'a non-string msg as JSON');
  t.same(parseJsonLine('{"__proto__":{"polluted":true},"msg":"x"}')!.fields, {}, '__proto__ is never copied');
  t.equal(({} as Record<string, unknown>).polluted, undefined);
  t.equal(parseJsonLine('{not json'), null);
  t.equal(parseJsonLine('[1,2]'), null, 'an array is not a log line');
});

t.test('text lines: recognized prefixes', async (t) => {
  const cases: Array<[string, string | null]> = [
    ['ERROR cannot bind :80', 'error'],
    ['ERROR: cannot bind', 'error'],
    ['WARN disk 91%', 'warn'],
    ['WARNING:root:deprecated call', 'warn'],
    ['FATAL', 'fatal'],
    ['[warn] slow query', 'warn'],
    ['[ERROR] x', 'error'],
    ['[Debug] x', 'debug'],
    ['warn: slow', 'warn'],
    ['Error: ENOENT: no such file', 'error'],
    ['info: listening', 'info'],
    ['crit: disk gone', 'fatal'],
    ['2026-11-21T12:00:00.123Z ERROR boom', 'error'],
    ['2026-11-21 12:00:00,123 WARNING something', 'warn'],
    ['E1121 12:00:00.123456    1 main.go:42] failed', 'error'],
    ['W1121 12:00:00.123456 1 x.go:1] careful', 'warn'],
    ['I1121 12:00:00.123456 1 x.go:1] fine', 'info'],
    ['F1121 12:00:00.123456 1 x.go:1] dead', 'fatal'],
  ];
  for (const [line, level] of cases) t.equal(textLevel(line), level, line);
});

t.test('text lines: what is deliberately not a level', async (t) => {
  const plain = [
    'error handling works', // lower-case word without a colon: an ordinary sentence
    'Errors: 0',
    'INFORMATION follows',
    'E something broke', // a bare letter
    'I think so',
    'W',
    'listening on :3000',
    '  ERROR indented',
    '[warning]x',
    '{"level":50}',
    '',
  ];
  for (const line of plain) t.equal(textLevel(line), null, JSON.stringify(line));
});

t.test('line splitting: partial lines, CRLF, characters across chunks, overlong lines', async (t) => {
  const got: Array<[string, number]> = [];
  const emit = (text: string, cut: number) => void got.push([text, cut]);
  const s = new LineSplitter();
  const bytes = Buffer.from('héllo\r\nwörld\nlast');
  for (let i = 0; i < bytes.length; i++) s.push(bytes.subarray(i, i + 1), emit); // one byte at a time
  t.same(got, [['héllo', 0], ['wörld', 0]]);
  s.end(emit);
  t.same(got.pop(), ['last', 0], 'the last partial line at end');

  got.length = 0;
  const long = Buffer.concat([Buffer.from('a'), Buffer.from('é'.repeat(MAX_LINE_BYTES)), Buffer.from('\r\nnext\n')]);
  s.push(long.subarray(0, 1000), emit);
  s.push(long.subarray(1000), emit);
  const total = 1 + 2 * MAX_LINE_BYTES;
  const kept = MAX_LINE_BYTES - 1; // 'a' + whole 'é's
  t.equal(got[0]![0], `a${'é'.repeat((kept - 1) / 2)}`, 'cut on a character boundary');
  t.equal(got[0]![1], total - kept, 'the cut bytes counted exactly (the CR is not one of them)');
  t.same(got[1], ['next', 0]);

  got.length = 0;
  const inOne = Buffer.from(`${'b'.repeat(MAX_LINE_BYTES + 10)}\nok\n`);
  s.push(inOne, emit);
  t.same(got.map(([x, c]) => [x.length, c]), [[MAX_LINE_BYTES, 10], [2, 0]], 'an overlong line within one chunk');
});

t.test('utf8Boundary', async (t) => {
  const b = Buffer.from('a€b'); // 61 e2 82 ac 62
  t.same([1, 2, 3, 4, 5].map((end) => utf8Boundary(b, 0, end)), [1, 1, 1, 4, 5]);
});
