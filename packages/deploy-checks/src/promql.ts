/**
 * Just enough PromQL for linting dashboard queries: a tokenizer and a walk that finds every vector
 * selector (metric name, label matchers, range) with the functions enclosing it, and every range.
 * It does not evaluate or fully validate PromQL; the end-to-end test sends every query to a real
 * Prometheus for that.
 */

export type TokenKind = 'ident' | 'string' | 'number' | 'range' | 'punct' | 'op';

export interface Token {
  kind: TokenKind;
  text: string;
  /** For strings: the unquoted value. */
  value?: string;
  pos: number;
}

export interface Matcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

export interface VectorSelector {
  metric: string | undefined;
  matchers: Matcher[];
  /** The range of a range-vector selector, without brackets (`$__rate_interval`, `5m`). */
  range: string | undefined;
  /** Calls enclosing the selector, outermost first (aggregations included: `sum`, `rate` …). */
  enclosing: string[];
  /** The innermost enclosing call whose argument list holds this selector directly. */
  directCall: string | undefined;
}

export interface ParsedQuery {
  selectors: VectorSelector[];
  /** Every `[…]` of the query (ranges and subqueries), without brackets. */
  ranges: string[];
  /** Every function or aggregation called. */
  calls: string[];
}

export class PromqlLintError extends Error {}

const AGGREGATIONS = new Set([
  'sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio',
]);
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2']);

export function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < expr.length && expr[i] !== '\n') i++;
      continue;
    }
    const start = i;
    if (c === '"' || c === "'" || c === '`') {
      let value = '';
      i++;
      while (i < expr.length && expr[i] !== c) {
        if (expr[i] === '\\' && c !== '`') {
          value += expr[i + 1] ?? '';
          i += 2;
        } else {
          value += expr[i];
          i++;
        }
      }
      if (i >= expr.length) throw new PromqlLintError(`unterminated string at ${start}`);
      i++;
      tokens.push({ kind: 'string', text: expr.slice(start, i), value, pos: start });
      continue;
    }
    if (c === '[') {
      const end = expr.indexOf(']', i);
      if (end === -1) throw new PromqlLintError(`unterminated [ at ${start}`);
      tokens.push({ kind: 'range', text: expr.slice(start + 1, end).trim(), pos: start });
      i = end + 1;
      continue;
    }
    const ident = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(expr.slice(i));
    if (ident) {
      tokens.push({ kind: 'ident', text: ident[0], pos: start });
      i += ident[0].length;
      continue;
    }
    const num = /^(?:0x[0-9a-fA-F]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?(?:ms|[smhdwy])?(?:[0-9]+(?:ms|[smhdwy]))*)/.exec(expr.slice(i));
    if (num && num[0].length > 0) {
      tokens.push({ kind: 'number', text: num[0], pos: start });
      i += num[0].length;
      continue;
    }
    if ('(){},'.includes(c)) {
      tokens.push({ kind: 'punct', text: c, pos: start });
      i++;
      continue;
    }
    const op = /^(==|!=|<=|>=|=~|!~|[-+*/%^<>=])/.exec(expr.slice(i));
    if (op) {
      tokens.push({ kind: 'op', text: op[0], pos: start });
      i += op[0].length;
      continue;
    }
    throw new PromqlLintError(`unexpected character '${c}' at ${start}`);
  }
  return tokens;
}

/** Finds the selectors, ranges and calls of a PromQL expression (Grafana variables may remain in strings and ranges). */
export function parseQuery(expr: string): ParsedQuery {
  const tokens = tokenize(expr);
  const selectors: VectorSelector[] = [];
  const ranges: string[] = [];
  const calls: string[] = [];
  /** One entry per open parenthesis: the call it belongs to, or undefined for plain grouping. */
  const stack: Array<string | undefined> = [];
  let pendingAggregation: string | undefined;
  let i = 0;

  const peek = (k = 0): Token | undefined => tokens[i + k];
  const skipLabelList = (): void => {
    // at '(' of by (...) / on (...) / group_left (...)
    if (peek()?.text !== '(') return;
    while (i < tokens.length && tokens[i]!.text !== ')') i++;
    i++;
  };
  const readMatchers = (): Matcher[] => {
    // at '{'
    const matchers: Matcher[] = [];
    i++;
    while (i < tokens.length && tokens[i]!.text !== '}') {
      if (tokens[i]!.text === ',') {
        i++;
        continue;
      }
      const label = tokens[i];
      const op = tokens[i + 1];
      const value = tokens[i + 2];
      if (label?.kind !== 'ident' || op?.kind !== 'op' || !['=', '!=', '=~', '!~'].includes(op.text) || value?.kind !== 'string') {
        throw new PromqlLintError(`bad label matcher at ${label?.pos ?? expr.length}`);
      }
      matchers.push({ label: label.text, op: op.text as Matcher['op'], value: value.value! });
      i += 3;
    }
    if (i >= tokens.length) throw new PromqlLintError('unterminated {');
    i++;
    return matchers;
  };
  const pushSelector = (metric: string | undefined): void => {
    const matchers = peek()?.text === '{' ? readMatchers() : [];
    let range: string | undefined;
    if (peek()?.kind === 'range') {
      range = peek()!.text;
      ranges.push(range);
      i++;
    }
    const enclosing = stack.filter((s): s is string => s !== undefined);
    selectors.push({ metric, matchers, range, enclosing, directCall: stack[stack.length - 1] });
  };

  while (i < tokens.length) {
    const tok = tokens[i]!;
    if (tok.kind === 'ident') {
      const next = peek(1);
      if (GROUPING.has(tok.text)) {
        i++;
        skipLabelList();
        continue;
      }
      if (KEYWORDS.has(tok.text)) {
        i++;
        continue;
      }
      if (AGGREGATIONS.has(tok.text) && (next?.text === 'by' || next?.text === 'without')) {
        pendingAggregation = tok.text;
        calls.push(tok.text);
        i++;
        continue;
      }
      if (next?.text === '(') {
        calls.push(tok.text);
        stack.push(tok.text);
        i += 2;
        continue;
      }
      i++;
      pushSelector(tok.text);
      continue;
    }
    if (tok.text === '{') {
      pushSelector(undefined);
      continue;
    }
    if (tok.text === '(') {
      stack.push(pendingAggregation);
      pendingAggregation = undefined;
      i++;
      continue;
    }
    if (tok.text === ')') {
      if (stack.length === 0) throw new PromqlLintError(`unbalanced ) at ${tok.pos}`);
      stack.pop();
      i++;
      // `sum (x) by (label)`: the grouping after the argument list.
      continue;
    }
    if (tok.kind === 'range') ranges.push(tok.text);
    i++;
  }
  if (stack.length > 0) throw new PromqlLintError('unbalanced (');
  return { selectors, ranges, calls };
}

/**
 * Replaces Grafana template variables (`$name`, `${name}`, `${name:format}`, `[[name]]`) using
 * `values`; throws on a variable without a value, so nothing unexpanded reaches Prometheus.
 */
export function substituteVariables(expr: string, values: Record<string, string>): string {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g, (whole, a?: string, b?: string, c?: string) => {
    const name = (a ?? b ?? c)!;
    const value = values[name];
    if (value === undefined) throw new PromqlLintError(`no value for the variable ${whole} in ${expr}`);
    return value;
  });
}
