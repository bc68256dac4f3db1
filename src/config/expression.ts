/**
 * The `rules: if:` expression language, as GitLab defines it:
 *   $VAR  ${VAR}  "str"  'str'  /regex/flags  null
 *   ==  !=  =~  !~  &&  ||  ( )
 * `&&` binds tighter than `||`. An undefined variable is null; a bare operand is
 * true when it is a non-empty string. Regexes run on RE2 (linear time), so a
 * user's pattern cannot backtrack the coordinator to a halt.
 */
import RE2 from 're2';

export class ExpressionError extends Error {
  constructor(
    message: string,
    /** 0-based character offset in the expression. */
    readonly offset: number,
  ) {
    super(message);
  }
}

type Tok =
  | { t: 'var'; name: string; at: number }
  | { t: 'str'; value: string; at: number }
  | { t: 're'; re: RE2; text: string; at: number }
  | { t: 'null'; at: number }
  | { t: 'op'; op: '==' | '!=' | '=~' | '!~' | '&&' | '||'; at: number }
  | { t: '('; at: number }
  | { t: ')'; at: number };

type Ast =
  | { k: 'var'; name: string }
  | { k: 'str'; value: string }
  | { k: 're'; re: RE2; text: string }
  | { k: 'null' }
  | { k: 'cmp'; op: '==' | '!=' | '=~' | '!~'; l: Ast; r: Ast }
  | { k: 'and' | 'or'; l: Ast; r: Ast };

export type Vars = Readonly<Record<string, string | undefined>>;

/** A parsed expression, evaluated against variables. */
export interface Expression {
  source: string;
  evaluate(vars: Vars): boolean;
}

const ALLOWED_FLAGS = /^[ims]*$/;

function compileRegex(pattern: string, flags: string, at: number): RE2 {
  if (!ALLOWED_FLAGS.test(flags)) throw new ExpressionError(`unsupported regex flag in /${pattern}/${flags} (use i, m or s)`, at);
  try {
    return new RE2(pattern, flags);
  } catch (e) {
    throw new ExpressionError(`invalid regular expression /${pattern}/: ${(e as Error).message}`, at);
  }
}

function lex(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const at = i;
    const two = src.slice(i, i + 2);
    if (two === '==' || two === '!=' || two === '=~' || two === '!~' || two === '&&' || two === '||') {
      out.push({ t: 'op', op: two, at });
      i += 2;
      continue;
    }
    if (c === '(' || c === ')') {
      out.push({ t: c, at });
      i++;
      continue;
    }
    if (c === '$') {
      const m = /^\$(?:\{(\w+)\}|(\w+))/.exec(src.slice(i));
      if (!m) throw new ExpressionError("'$' must be followed by a variable name", at);
      out.push({ t: 'var', name: (m[1] ?? m[2])!, at });
      i += m[0].length;
      continue;
    }
    if (c === '"' || c === "'") {
      const end = src.indexOf(c, i + 1);
      if (end < 0) throw new ExpressionError(`unterminated string starting with ${c}`, at);
      out.push({ t: 'str', value: src.slice(i + 1, end), at });
      i = end + 1;
      continue;
    }
    if (c === '/') {
      let j = i + 1;
      while (j < src.length && src[j] !== '/') j += src[j] === '\\' ? 2 : 1;
      if (j >= src.length) throw new ExpressionError('unterminated regular expression (missing closing /)', at);
      const pattern = src.slice(i + 1, j);
      const flags = /^[a-z]*/.exec(src.slice(j + 1))![0];
      out.push({ t: 're', re: compileRegex(pattern, flags, at), text: `/${pattern}/${flags}`, at });
      i = j + 1 + flags.length;
      continue;
    }
    const word = /^\w+/.exec(src.slice(i));
    if (word && word[0] === 'null') {
      out.push({ t: 'null', at });
      i += 4;
      continue;
    }
    throw new ExpressionError(
      word ? `unexpected word '${word[0]}' (variables start with $, strings are quoted)` : `unexpected character '${c}'`,
      at,
    );
  }
  return out;
}

function parse(src: string): Ast {
  const toks = lex(src);
  let p = 0;
  const peek = () => toks[p];
  const endAt = src.length;

  function primary(): Ast {
    const t = toks[p++];
    if (!t) throw new ExpressionError('expression ends too early', endAt);
    switch (t.t) {
      case 'var':
        return { k: 'var', name: t.name };
      case 'str':
        return { k: 'str', value: t.value };
      case 're':
        return { k: 're', re: t.re, text: t.text };
      case 'null':
        return { k: 'null' };
      case '(': {
        const e = or();
        const close = toks[p++];
        if (!close || close.t !== ')') throw new ExpressionError("missing ')'", close?.at ?? endAt);
        return e;
      }
      default:
        throw new ExpressionError(`unexpected '${t.t === 'op' ? t.op : t.t}'`, t.at);
    }
  }
  function cmp(): Ast {
    const l = primary();
    const t = peek();
    if (t?.t === 'op' && (t.op === '==' || t.op === '!=' || t.op === '=~' || t.op === '!~')) {
      p++;
      const r = primary();
      if ((t.op === '=~' || t.op === '!~') && (r.k === 'str' || r.k === 'null')) {
        throw new ExpressionError(`the right side of ${t.op} must be a /regex/ or a variable`, t.at);
      }
      return { k: 'cmp', op: t.op, l, r };
    }
    return l;
  }
  function and(): Ast {
    let l = cmp();
    while (peek()?.t === 'op' && (peek() as { op: string }).op === '&&') {
      p++;
      l = { k: 'and', l, r: cmp() };
    }
    return l;
  }
  function or(): Ast {
    let l = and();
    while (peek()?.t === 'op' && (peek() as { op: string }).op === '||') {
      p++;
      l = { k: 'or', l, r: and() };
    }
    return l;
  }
  if (toks.length === 0) throw new ExpressionError('empty expression', 0);
  const ast = or();
  const rest = peek();
  if (rest) throw new ExpressionError(`unexpected '${rest.t === 'op' ? rest.op : rest.t}' after a complete expression`, rest.at);
  return ast;
}

type Val = string | null | boolean | { re: RE2; text: string };

function value(a: Ast, vars: Vars): Val {
  switch (a.k) {
    case 'var': {
      const v = vars[a.name];
      return v === undefined ? null : v;
    }
    case 'str':
      return a.value;
    case 're':
      return { re: a.re, text: a.text };
    case 'null':
      return null;
    case 'and':
      return truthy(value(a.l, vars)) && truthy(value(a.r, vars));
    case 'or':
      return truthy(value(a.l, vars)) || truthy(value(a.r, vars));
    case 'cmp': {
      const l = value(a.l, vars);
      const r = value(a.r, vars);
      if (a.op === '==' || a.op === '!=') {
        const eq = scalar(l) === scalar(r);
        return a.op === '==' ? eq : !eq;
      }
      const matched = matches(l, r);
      return a.op === '=~' ? matched : !matched;
    }
  }
}

function scalar(v: Val): string | null | boolean {
  return typeof v === 'object' && v !== null ? v.text : v;
}

function truthy(v: Val): boolean {
  if (v === null) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') return v.length > 0;
  return true;
}

/** `=~`: a variable on the right may hold "/pattern/flags" (GitLab 15+ behaviour). */
function matches(l: Val, r: Val): boolean {
  if (typeof l !== 'string') return false;
  let re: RE2 | null = null;
  if (typeof r === 'object' && r !== null) re = r.re;
  else if (typeof r === 'string') {
    const m = /^\/(.*)\/([a-z]*)$/s.exec(r);
    if (m && ALLOWED_FLAGS.test(m[2]!)) {
      try {
        re = new RE2(m[1]!, m[2]!);
      } catch {
        re = null;
      }
    }
  }
  return re !== null && re.test(l);
}

/** Parse once (throws ExpressionError with an offset), evaluate many times. */
export function compileExpression(source: string): Expression {
  const ast = parse(source);
  return { source, evaluate: (vars) => truthy(value(ast, vars)) };
}
