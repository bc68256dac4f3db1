// An incrementally growing job log: bytes in, numbered lines out, evidence marked.
import { lastCarriageSegment, renderAnsi } from './ansi.js';
import { h } from './dom.js';

export class LogView {
  /** `lineHref(n)` gives each line number's link (the route plus `#Ln`). */
  constructor(lineHref) {
    this.lineHref = lineHref;
    this.decoder = new TextDecoder('utf-8');
    this.offset = 0; // bytes consumed from the trace
    this.partial = ''; // text after the last newline
    this.count = 0; // complete lines rendered
    this.ansi = { fg: null, bg: null, bold: false };
    this.evidence = new Set();
    this.el = h('div', { class: 'log', id: 'log', role: 'log', 'aria-label': 'job log' });
    this.tail = null; // element showing the unfinished last line
  }

  /** Appends trace bytes (a chunk may split a UTF-8 character or a line). */
  append(bytes, final = false) {
    this.offset += bytes.length;
    const text = this.partial + this.decoder.decode(bytes, { stream: !final });
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    const frag = document.createDocumentFragment();
    for (const p of parts) frag.appendChild(this.line(++this.count, p));
    this.tail?.remove();
    this.tail = null;
    this.el.appendChild(frag);
    if (this.partial) {
      // Shown with the number it will get, so anchors hold once it completes.
      const ansiCopy = { ...this.ansi };
      this.tail = this.line(this.count + 1, this.partial);
      this.ansi = ansiCopy; // the tail will be rendered again when it completes
      this.tail.classList.add('partial');
      this.el.appendChild(this.tail);
    }
  }

  line(n, raw) {
    const el = h(
      'div',
      { class: 'line', id: `L${n}`, dataset: { line: n } },
      h('a', { class: 'ln', href: this.lineHref(n), 'aria-label': `line ${n}` }, String(n)),
      h('span', { class: 'txt' }, renderAnsi(lastCarriageSegment(raw), this.ansi)),
    );
    if (this.evidence.has(n)) el.classList.add('evidence');
    return el;
  }

  /** Marks the evidence lines (they may arrive before or after the log). */
  setEvidence(lines) {
    this.evidence = new Set(lines);
    for (const el of this.el.querySelectorAll('.line.evidence')) el.classList.remove('evidence');
    for (const n of this.evidence) this.el.querySelector(`#L${n}`)?.classList.add('evidence');
  }

  /** Scrolls to and marks `#Ln`; false when that line is not there (yet). */
  reveal(anchor) {
    for (const el of this.el.querySelectorAll('.line.target')) el.classList.remove('target');
    const m = /^L(\d+)$/.exec(anchor ?? '');
    const el = m && this.el.querySelector(`#L${m[1]}`);
    if (!el) return false;
    el.classList.add('target');
    el.scrollIntoView({ block: 'center' });
    return true;
  }
}
