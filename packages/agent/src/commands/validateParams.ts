import { CommandRejected } from './commandRejected';

/** One typed parameter of a command, as listed to clients and written in operator config. */
export interface ParamSpec {
  type: 'string' | 'integer';
  /** Must match the whole value (compiled as `^(?:pattern)$` with the `u` flag). */
  pattern?: string;
  /** Default 1024 for strings, 4096 for paths. */
  maxLength?: number;
  min?: number;
  max?: number;
  enum?: string[];
  /** Defaults to true unless a default is given. */
  required?: boolean;
  default?: string | number;
  /** An existing regular file: canonicalised with realpath and checked against allowedRoots. */
  kind?: 'path';
  allowedRoots?: string[];
  /**
   * Strings starting with '-' are refused unless this is set (or the value is
   * one of `enum`): a value in a positional slot would otherwise be read as an
   * option by the program (`--output=/etc/passwd`). Argument injection needs no shell.
   */
  allowLeadingDash?: boolean;
}

export type ParamValue = string | number;
export type ParamValues = Readonly<Record<string, ParamValue>>;

export const DEFAULT_MAX_LENGTH = 1024;
export const DEFAULT_PATH_MAX_LENGTH = 4096;

// C0 and C1 controls (NUL, newline, CR, ESC, DEL …) have no business in a
// parameter; NUL would also make spawn throw. Lone surrogates are refused
// because spawn encodes them as U+FFFD, so the program would see a different
// value than the one validated.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /\p{Cs}/u;
const INTEGER_TEXT = /^-?(?:0|[1-9][0-9]{0,15})$/;

/** Full-match regex for a spec's pattern. Throws on an invalid pattern (config validation calls this too). */
export function compilePattern(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`, 'u');
}

export function isRequired(spec: ParamSpec): boolean {
  return spec.required ?? spec.default === undefined;
}

function reject(param: string, message: string): never {
  throw new CommandRejected('invalid_params', `param "${param}": ${message}`, { param });
}

function checkString(name: string, spec: ParamSpec, value: unknown): string {
  if (typeof value !== 'string') reject(name, 'must be a string');
  const maxLength = spec.maxLength ?? (spec.kind === 'path' ? DEFAULT_PATH_MAX_LENGTH : DEFAULT_MAX_LENGTH);
  // Length first: it bounds the work any operator-written pattern can do.
  if (value.length > maxLength) reject(name, `must be at most ${maxLength} characters`);
  if (CONTROL.test(value)) reject(name, 'must not contain control characters');
  if (LONE_SURROGATE.test(value)) reject(name, 'must be well-formed Unicode');
  if (spec.enum) {
    if (!spec.enum.includes(value)) reject(name, `must be one of the allowed values (${spec.enum.join(', ') || 'none configured'})`);
    return value;
  }
  if (spec.pattern !== undefined && !compilePattern(spec.pattern).test(value)) {
    reject(name, `must match ${spec.pattern}`);
  }
  if (value.startsWith('-') && !spec.allowLeadingDash) reject(name, "must not start with '-'");
  return value;
}

function checkInteger(name: string, spec: ParamSpec, value: unknown): number {
  // Query strings carry integers as text; accept only plain decimal forms so
  // that "1e3", "0x10", " 5" and "5;" are refused rather than coerced.
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && INTEGER_TEXT.test(value)) n = Number(value);
  else reject(name, 'must be an integer');
  if (!Number.isSafeInteger(n)) reject(name, 'must be an integer');
  if (spec.min !== undefined && n < spec.min) reject(name, `must be at least ${spec.min}`);
  if (spec.max !== undefined && n > spec.max) reject(name, `must be at most ${spec.max}`);
  return n;
}

/** Checks one value against its spec; path values come back as given (the caller resolves them). */
export function validateValue(name: string, spec: ParamSpec, value: unknown): ParamValue {
  return spec.type === 'integer' ? checkInteger(name, spec, value) : checkString(name, spec, value);
}

/**
 * Validates request params against a command's specs: unknown names are
 * refused (a typo must not silently fall back to a default), missing ones take
 * their default or are refused when required. Pure: no file system access.
 */
export function validateParams(specs: Readonly<Record<string, ParamSpec>>, input: unknown): Record<string, ParamValue> {
  if (input === undefined || input === null) input = {};
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new CommandRejected('invalid_params', 'params must be an object');
  }
  const given = input as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(specs, key)) {
      // The name is echoed, so bound it like any other value.
      const shown = key.length > 64 || CONTROL.test(key) ? '(unprintable)' : key;
      throw new CommandRejected('invalid_params', `unknown param "${shown}"`, { param: key });
    }
  }
  const out: Record<string, ParamValue> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const raw = Object.hasOwn(given, name) ? given[name] : undefined;
    if (raw === undefined) {
      if (spec.default !== undefined) out[name] = spec.default;
      else if (isRequired(spec)) reject(name, 'is required');
      continue;
    }
    out[name] = validateValue(name, spec, raw);
  }
  return out;
}
