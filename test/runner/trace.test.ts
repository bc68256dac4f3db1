import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Masker, TraceBuffer, MASK } from '../../src/runner/trace.js';
import type { TraceAppendResult } from '../../src/runner/client.js';

describe('Masker', () => {
  test('masks whole values and values split across chunks', () => {
    const m = new Masker(['s3cr3t-value', 'tok']);
    const out = m.push('a s3cr3t-') + m.push('value b to') + m.push('k c') + m.end();
    assert.equal(out, `a ${MASK} b ${MASK} c`);
  });

  test('holds back only a possible secret prefix, and releases it when it is not one', () => {
    const m = new Masker(['password123']);
    assert.equal(m.push('hello pass'), 'hello ');
    assert.equal(m.push('port'), 'passport');
    assert.equal(m.push(' end'), ' end');
    assert.equal(m.end(), '');
  });

  test('a longer secret containing a shorter one is masked whole', () => {
    const m = new Masker(['abc', 'xxabcxx']);
    assert.equal(m.push('1 xxabcxx 2 abc') + m.end(), `1 ${MASK} 2 ${MASK}`);
  });

  test('property: any chunking of the text gives the same masked output, with no secret left', () => {
    const secret = fc.stringMatching(/^[a-z0-9]{3,12}$/);
    fc.assert(
      fc.property(
        fc.array(secret, { minLength: 1, maxLength: 3 }),
        fc.array(fc.string({ maxLength: 20 }), { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (secrets, fillers, cuts) => {
          let text = '';
          fillers.forEach((f, i) => (text += f + secrets[i % secrets.length]));
          const whole = new Masker(secrets);
          const expected = whole.push(text) + whole.end();
          const m = new Masker(secrets);
          let out = '';
          let at = 0;
          for (const c of [...cuts.map((c) => c % (text.length + 1))].sort((a, b) => a - b)) {
            out += m.push(text.slice(at, c));
            at = c;
          }
          out += m.push(text.slice(at)) + m.end();
          assert.equal(out, expected);
          for (const s of secrets) if (!MASK.includes(s)) assert.ok(!out.includes(s), `"${s}" leaked in ${JSON.stringify(out)}`);
        },
      ),
      { numRuns: 300 },
    );
  });
});

/** A fake coordinator trace endpoint with the real one's offset rules. */
function fakeSink(o: { failFirst?: number; start?: number } = {}) {
  let stored = Buffer.alloc(0);
  let fails = o.failFirst ?? 0;
  const calls: Array<{ offset: number; len: number; at: number }> = [];
  const base = o.start ?? 0;
  const send = async (offset: number, bytes: Buffer): Promise<TraceAppendResult> => {
    calls.push({ offset, len: bytes.length, at: Date.now() });
    if (fails > 0) {
      fails--;
      throw new Error('ECONNREFUSED');
    }
    const have = base + stored.length;
    if (offset !== have) return { ok: false, kind: 'range', offset: have };
    stored = Buffer.concat([stored, bytes]);
    return { ok: true, offset: base + stored.length };
  };
  return { send, calls, text: () => stored.toString('utf8'), truncate: (n: number) => (stored = stored.subarray(0, n)) };
}

describe('TraceBuffer', () => {
  test('streams while running, masks, and delivers everything at close', async () => {
    const sink = fakeSink();
    const t = new TraceBuffer({ send: sink.send, masks: ['hunter2hunter2'], intervalMs: 30 });
    t.begin();
    t.write('line 1 hunter2');
    t.write(Buffer.from('hunter2 ok\n'));
    await new Promise((r) => setTimeout(r, 120));
    assert.ok(sink.calls.length >= 1, 'flushed before close');
    assert.equal(sink.text(), `line 1 ${MASK} ok\n`);
    t.line('done');
    await t.close();
    assert.equal(sink.text(), `line 1 ${MASK} ok\ndone\n`);
    assert.equal(t.sentBytes, t.bytes);
  });

  test('a UTF-8 character split across chunks survives', async () => {
    const sink = fakeSink();
    const t = new TraceBuffer({ send: sink.send });
    const euro = Buffer.from('€ ok\n');
    t.write(euro.subarray(0, 1));
    t.write(euro.subarray(1));
    await t.close();
    assert.equal(sink.text(), '€ ok\n');
  });

  test('retries after network errors and resyncs on 416 to the coordinator offset', async () => {
    const sink = fakeSink({ failFirst: 2 });
    const t = new TraceBuffer({ send: sink.send, intervalMs: 20 });
    t.begin();
    t.write('abcdef\n');
    await t.close({ timeoutMs: 5000 });
    assert.equal(sink.text(), 'abcdef\n');
    assert.ok(sink.calls.length >= 3);
    // The coordinator holds 3 bytes (a response got lost after it stored them); a
    // buffer sending from 0 gets 416 {offset: 3} and continues from there.
    sink.truncate(3);
    const t2 = new TraceBuffer({ send: sink.send, startOffset: 0 });
    t2.write('abcdef\nmore\n');
    const before = sink.calls.length;
    await t2.close();
    assert.deepEqual(
      sink.calls.slice(before).map((c) => c.offset),
      [0, 3],
    );
    assert.equal(sink.text(), 'abcdef\nmore\n');
  });

  test('continues from the job trace_offset', async () => {
    const sink = fakeSink({ start: 100 });
    const t = new TraceBuffer({ send: sink.send, startOffset: 100 });
    t.write('resumed\n');
    await t.close();
    assert.equal(sink.calls[0]!.offset, 100);
    assert.equal(sink.text(), 'resumed\n');
    assert.equal(t.bytes, 108);
  });

  test('64 KiB of pending output flushes at once, without waiting for the timer', async () => {
    const sink = fakeSink();
    const t = new TraceBuffer({ send: sink.send, intervalMs: 60_000, flushBytes: 1024 });
    t.begin();
    t.write('x'.repeat(2000));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(sink.text().length, 2000);
    await t.close();
  });
});
