import { CommandRejected } from '../src/commands/commandRejected';
import { validateParams, type ParamSpec } from '../src/commands/validateParams';
import { wholeUtf8Prefix } from '../src/commands/wholeUtf8Prefix';

const specs: Record<string, ParamSpec> = {
  target: { type: 'string', pattern: '[a-z0-9-]{1,32}' },
  mode: { type: 'string', enum: ['fast', '--full'] },
  count: { type: 'integer', min: 1, max: 5000, default: 100 },
  free: { type: 'string', pattern: '.*', required: false, default: 'x' },
};

function rejected(input: unknown): CommandRejected {
  try {
    validateParams(specs, input);
  } catch (err) {
    if (err instanceof CommandRejected) return err;
    throw err;
  }
  throw new Error('expected CommandRejected');
}

test('valid params come back typed, defaults filled in', () => {
  expect(validateParams(specs, { target: 'db-1', mode: 'fast' })).toEqual({ target: 'db-1', mode: 'fast', count: 100, free: 'x' });
  expect(validateParams(specs, { target: 'db-1', mode: '--full', count: '42' })).toMatchObject({ mode: '--full', count: 42 });
});

test.each<[string, unknown, string | undefined]>([
  ['params an array', [], undefined],
  ['params a string', 'target=x', undefined],
  ['unknown param', { target: 'a', mode: 'fast', extra: 1 }, 'extra'],
  ['__proto__ as an own key', JSON.parse('{"target":"a","mode":"fast","__proto__":{"x":1}}'), '__proto__'],
  ['missing required', { mode: 'fast' }, 'target'],
  ['pattern is anchored (suffix)', { target: 'ok;rm', mode: 'fast' }, 'target'],
  ['pattern is anchored (newline before end)', { target: 'ok\n', mode: 'fast' }, 'target'],
  ['leading dash matching the pattern', { target: '--help', mode: 'fast' }, 'target'],
  ['string param given a number', { target: 5, mode: 'fast' }, 'target'],
  ['not in enum', { target: 'a', mode: 'slow' }, 'mode'],
  ['enum is exact (case)', { target: 'a', mode: 'FAST' }, 'mode'],
  ['integer: float', { target: 'a', mode: 'fast', count: 1.5 }, 'count'],
  ['integer: exponent text', { target: 'a', mode: 'fast', count: '1e3' }, 'count'],
  ['integer: hex text', { target: 'a', mode: 'fast', count: '0x10' }, 'count'],
  ['integer: padded text', { target: 'a', mode: 'fast', count: ' 5' }, 'count'],
  ['integer: trailing junk', { target: 'a', mode: 'fast', count: '5;' }, 'count'],
  ['integer: below min', { target: 'a', mode: 'fast', count: 0 }, 'count'],
  ['integer: above max', { target: 'a', mode: 'fast', count: 5001 }, 'count'],
  ['integer: NaN', { target: 'a', mode: 'fast', count: NaN }, 'count'],
  ['integer: null', { target: 'a', mode: 'fast', count: null }, 'count'],
  ['control character in a free string', { target: 'a', mode: 'fast', free: 'a\u001b[2J' }, 'free'],
  ['C1 control (NEL)', { target: 'a', mode: 'fast', free: 'a\u0085b' }, 'free'],
  ['lone surrogate', { target: 'a', mode: 'fast', free: 'a\ud800' }, 'free'],
  ['over the default max length', { target: 'a', mode: 'fast', free: 'y'.repeat(1025) }, 'free'],
])('%s → invalid_params naming the param', (_label, input, param) => {
  const err = rejected(input);
  expect(err.code).toBe('invalid_params');
  expect(err.param).toBe(param);
});

test('messages never echo the rejected value', () => {
  const err = rejected({ target: 'a', mode: 'fast', free: 'z'.repeat(2000) });
  expect(err.message.length).toBeLessThan(200);
});

test.each([
  ['ascii, not cut', Buffer.from('abc'), 'abc'],
  ['two-byte char cut after its lead byte', Buffer.from('aé').subarray(0, 2), 'a'],
  ['three-byte char cut after two bytes', Buffer.from('a€').subarray(0, 3), 'a'],
  ['four-byte char cut after three bytes', Buffer.from('a😀').subarray(0, 4), 'a'],
  ['whole four-byte char kept', Buffer.from('a😀'), 'a😀'],
])('wholeUtf8Prefix: %s', (_label, buf, expected) => {
  expect(wholeUtf8Prefix(buf).toString('utf8')).toBe(expected);
});
