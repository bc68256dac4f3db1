/**
 * Replaces every occurrence of the given values with [MASKED], across chunk boundaries,
 * in one pass over the text whatever the number of values (an Aho-Corasick automaton:
 * 1,000 masked variables cost what one does).
 *
 * Matches are leftmost-longest and do not overlap: where two secrets start at the same
 * place the longer is masked whole. Text that could still be the start of a secret is
 * held back until the next write (or `end`).
 */
export const MASK = '[MASKED]';

export class Masker {
  /** Transitions: node * 65536 + UTF-16 code unit → node. Node 0 is the root. */
  private readonly next = new Map<number, number>();
  private readonly fail: number[] = [0];
  private readonly depth: number[] = [0];
  /** Length of the secret ending exactly at a node (0: none). */
  private readonly out: number[] = [0];
  /** Nearest node down the fail chain (not itself) where a secret ends, or -1. */
  private readonly dict: number[] = [-1];
  /** Depth of the longest suffix of a node's text that a longer secret could continue. */
  private readonly hold: number[] = [0];
  private readonly empty: boolean;
  private state = 0;
  /** Text not emitted yet, and for each of its positions the longest secret found starting there. */
  private carry = '';
  private carryLongest = new Uint32Array(0);
  private steps = 0;

  constructor(values: Iterable<string>) {
    const secrets = [...new Set([...values].filter((v) => v.length > 0))];
    this.empty = secrets.length === 0;
    const kids: number[][] = [[]];
    for (const sec of secrets) {
      let n = 0;
      for (let i = 0; i < sec.length; i++) {
        const key = n * 65536 + sec.charCodeAt(i);
        let m = this.next.get(key);
        if (m === undefined) {
          m = this.depth.length;
          this.next.set(key, m);
          this.fail.push(0);
          this.depth.push(this.depth[n]! + 1);
          this.out.push(0);
          this.dict.push(-1);
          this.hold.push(0);
          kids.push([]);
          kids[n]!.push(sec.charCodeAt(i));
        }
        n = m;
      }
      this.out[n] = sec.length;
    }
    // Breadth first: a node's fail link points to a shallower node, already linked.
    const queue: number[] = [];
    for (const c of kids[0]!) {
      const m = this.next.get(c)!;
      this.hold[m] = kids[m]!.length > 0 ? 1 : 0;
      queue.push(m);
    }
    for (let q = 0; q < queue.length; q++) {
      const n = queue[q]!;
      if (n === 0) continue;
      for (const c of kids[n]!) {
        const m = this.next.get(n * 65536 + c)!;
        let f = this.fail[n]!;
        while (f !== 0 && !this.next.has(f * 65536 + c)) f = this.fail[f]!;
        const g = this.next.get(f * 65536 + c) ?? 0;
        this.fail[m] = g;
        this.dict[m] = this.out[g]! > 0 ? g : this.dict[g]!;
        this.hold[m] = kids[m]!.length > 0 ? this.depth[m]! : this.hold[g]!;
        queue.push(m);
      }
    }
  }

  /** Automaton steps taken so far (transitions, fail links, matches): linear in the text. */
  get work(): number {
    return this.steps;
  }

  /** Masked text that is safe to emit now. */
  push(text: string): string {
    if (this.empty) return text;
    const s = this.carry + text;
    const longest = new Uint32Array(s.length);
    longest.set(this.carryLongest);
    let st = this.state;
    let steps = 0;
    for (let j = this.carry.length; j < s.length; j++) {
      const c = s.charCodeAt(j);
      let m = this.next.get(st * 65536 + c);
      while (m === undefined && st !== 0) {
        st = this.fail[st]!;
        m = this.next.get(st * 65536 + c);
        steps++;
      }
      st = m ?? 0;
      steps++;
      // Every secret ending here; a start before the carry lies in text already emitted or masked.
      for (let t = this.out[st]! > 0 ? st : this.dict[st]!; t !== -1; t = this.dict[t]!) {
        const len = this.out[t]!;
        const start = j + 1 - len;
        if (start >= 0 && longest[start]! < len) longest[start] = len;
        steps++;
      }
    }
    this.state = st;
    this.steps += steps;
    // A secret could still start at or after `cut`; everything before it is decided.
    return this.emit(s, longest, s.length - this.hold[st]!);
  }

  /** Everything still held back, masked (call once, at the end). */
  end(): string {
    if (this.empty) return '';
    const out = this.emit(this.carry, this.carryLongest, this.carry.length);
    this.state = 0;
    return out;
  }

  /** Greedy leftmost-longest replacement of s[0, cut); the rest is carried over. */
  private emit(s: string, longest: Uint32Array, cut: number): string {
    let out = '';
    let last = 0;
    let i = 0;
    while (i < cut) {
      const len = longest[i]!;
      if (len > 0) {
        out += s.slice(last, i) + MASK;
        i += len;
        last = i;
      } else i++;
    }
    out += s.slice(last, i);
    this.carry = s.slice(i);
    this.carryLongest = longest.slice(i);
    return out;
  }
}
