import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Masker, MASK } from '../../src/util/masker.js';

/** The specification: scan left to right; where secrets start, the longest is masked whole. */
function reference(secrets: string[], text: string): string {
  const sorted = [...new Set(secrets.filter((s) => s.length > 0))].sort((a, b) => b.length - a.length);
  let out = '';
  for (let i = 0; i < text.length;) {
    const hit = sorted.find((s) => text.startsWith(s, i));
    if (hit) {
      out += MASK;
      i += hit.length;
    } else out += text[i++];
  }
  return out;
}

function chunked(m: Masker, text: string, cuts: number[]): string {
  let out = '';
  let at = 0;
  for (const c of cuts.map((c) => c % (text.length + 1)).sort((a, b) => a - b)) {
    out += m.push(text.slice(at, c));
    at = c;
  }
  return out + m.push(text.slice(at)) + m.end();
}

describe('Masker (one pass for all secrets)', () => {
  test('property: overlapping secrets over a small alphabet, any chunking, equal the specification', () => {
    // A 3-letter alphabet makes secrets share prefixes and suffixes and overlap in the text.
    const word = (min: number, max: number) => fc.stringMatching(new RegExp(`^[abc]{${min},${max}}$`));
    fc.assert(
      fc.property(
        fc.array(word(1, 6), { minLength: 1, maxLength: 8 }),
        word(0, 80),
        fc.array(fc.nat(), { maxLength: 12 }),
        (secrets, text, cuts) => {
          assert.equal(chunked(new Masker(secrets), text, cuts), reference(secrets, text));
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('a secret ending a write is held until the next write proves it is not a longer one', () => {
    const m = new Masker(['abc', 'abcdef']);
    assert.equal(m.push('x abc'), 'x ');
    assert.equal(m.push('d'), '');
    assert.equal(m.push('e!'), `${MASK}de!`);
    assert.equal(m.push(' abc'), ' ');
    assert.equal(m.end(), MASK);
  });

  test('non-ASCII secrets and text (UTF-16 code units, surrogate pairs)', () => {
    const secrets = ['pässwörd', '🔑key🔑', 'ключ'];
    const text = 'a pässwörd b 🔑key🔑 c ключи d 🔑ke';
    assert.equal(chunked(new Masker(secrets), text, [3, 14, 15, 30]), reference(secrets, text));
  });

  test('1,000 secrets over 2 MB of output: every secret masked, work linear in the output, not in the secrets', () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const alnum = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    const rand = (n: number) => Array.from({ length: n }, () => alnum[Math.floor(rnd() * alnum.length)]).join('');
    const secrets = Array.from({ length: 1000 }, () => rand(16 + Math.floor(rnd() * 24)));
    const parts: string[] = [];
    const expected: string[] = [];
    let size = 0;
    while (size < 2 * 1024 * 1024) {
      const filler = `line ${size} ${'-'.repeat(Math.floor(rnd() * 60))} `;
      const sec = secrets[Math.floor(rnd() * secrets.length)]!;
      parts.push(filler, sec, '\n');
      expected.push(filler, MASK, '\n');
      size += filler.length + sec.length + 1;
    }
    const text = parts.join('');
    const m = new Masker(secrets);
    let out = '';
    for (let i = 0; i < text.length; i += 4096) out += m.push(text.slice(i, i + 4096));
    out += m.end();
    assert.equal(out, expected.join(''));
    // Automaton steps per character of output: bounded by a constant, whatever the number of secrets.
    assert.ok(m.work <= 3 * text.length, `work ${m.work} for ${text.length} characters`);
    const one = new Masker([secrets[0]!]);
    one.push(text);
    one.end();
    assert.ok(m.work <= 1.5 * one.work, `1,000 secrets took ${m.work} steps, one secret ${one.work}`);
  });
});
