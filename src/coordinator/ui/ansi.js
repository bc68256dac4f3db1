// Minimal ANSI SGR handling for job logs: colours and bold become CSS classes,
// every other escape sequence is dropped. Output is DOM nodes with text only.
import { h } from './dom.js';

// CSI sequences (colours, cursor moves, erase) and OSC sequences (titles, links).
const ESC_RE = /\x1b\[([0-9;?]*)([A-Za-z])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g;

/** Keeps what a terminal would show after carriage returns (progress bars). */
export function lastCarriageSegment(line) {
  const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line;
  const i = trimmed.lastIndexOf('\r');
  return i >= 0 ? trimmed.slice(i + 1) : trimmed;
}

/** Renders one log line into spans; `state` carries colours across lines. */
export function renderAnsi(line, state) {
  const out = [];
  let last = 0;
  const push = (text) => {
    if (!text) return;
    const cls = [];
    if (state.fg) cls.push(`fg-${state.fg}`);
    if (state.bg) cls.push(`bg-${state.bg}`);
    if (state.bold) cls.push('bold');
    out.push(cls.length ? h('span', { class: cls.join(' ') }, text) : text);
  };
  for (const m of line.matchAll(ESC_RE)) {
    push(line.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[2] === 'm') applySgr(m[1], state);
  }
  push(line.slice(last));
  return out;
}

function applySgr(params, state) {
  const codes = params === '' ? [0] : params.split(';').map(Number);
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    if (c === 0) Object.assign(state, { fg: null, bg: null, bold: false });
    else if (c === 1) state.bold = true;
    else if (c === 22) state.bold = false;
    else if (c >= 30 && c <= 37) state.fg = String(c - 30);
    else if (c >= 90 && c <= 97) state.fg = String(c - 90 + 8);
    else if (c === 39) state.fg = null;
    else if (c >= 40 && c <= 47) state.bg = String(c - 40);
    else if (c === 49) state.bg = null;
    else if (c === 38 || c === 48) i += codes[i + 1] === 5 ? 2 : 4; // 256/true colour: skip
  }
}
