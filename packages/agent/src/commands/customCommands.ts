import path from 'node:path';
import { z } from 'zod';
import { ROLES, type Role } from '../security/roles';
import { deepFreeze } from './deepFreeze';
import { fieldPath } from './fieldPath';
import { compilePattern, validateValue, type ParamSpec, type ParamValues } from './validateParams';

/** An operator-defined command, as written in the agent's config file. */
export interface CustomCommandConfig {
  /** Exposed as `custom.<name>`, so it can never shadow a built-in. */
  name: string;
  description: string;
  role: Role;
  /** argv[0] absolute; `{param}` placeholders fill whole elements only. */
  argv: string[];
  params: Record<string, ParamSpec>;
  timeoutMs: number;
}

export const CUSTOM_PREFIX = 'custom.';

const WHOLE_PLACEHOLDER = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
const ANY_PLACEHOLDER = /\{[A-Za-z_][A-Za-z0-9_]*\}/;
const NO_CONTROL = /^[^\u0000-\u001f\u007f]*$/;

/**
 * Programs that would turn a parameter back into code. A blocklist cannot be
 * complete, but it catches the obvious `['/bin/sh', '-c', '{script}']`; the
 * fix is a script of your own with typed arguments.
 */
const SHELLS = new Set(['sh', 'bash', 'dash', 'ash', 'zsh', 'ksh', 'mksh', 'csh', 'tcsh', 'fish', 'busybox', 'env', 'sudo', 'su', 'doas']);

/** The param a whole-element placeholder names, or null for a literal element. */
export function placeholderOf(element: string): string | null {
  return WHOLE_PLACEHOLDER.exec(element)?.[1] ?? null;
}

/** Fills placeholders with validated values; each value becomes exactly one argv element. */
export function buildCustomArgv(template: readonly string[], values: ParamValues): string[] {
  return template.map((el) => {
    const name = placeholderOf(el);
    return name === null ? el : String(values[name]);
  });
}

const ParamSpecSchema = z.strictObject({
  type: z.enum(['string', 'integer']),
  pattern: z.string().min(1).max(1000).optional(),
  maxLength: z.number().int().min(1).max(65_536).optional(),
  min: z.number().int().min(Number.MIN_SAFE_INTEGER).optional(),
  max: z.number().int().max(Number.MAX_SAFE_INTEGER).optional(),
  enum: z.array(z.string().min(1).max(1024).regex(NO_CONTROL, 'must not contain control characters')).min(1).max(1000).optional(),
  required: z.boolean().optional(),
  default: z.union([z.string(), z.number().int()]).optional(),
  kind: z.literal('path').optional(),
  allowedRoots: z.array(z.string().startsWith('/', 'must be absolute paths')).min(1).optional(),
  allowLeadingDash: z.boolean().optional(),
});

const CommandSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, 'must be 1-64 characters of a-z 0-9 _ . - starting with a letter or digit'),
  description: z.string().min(1).max(500),
  role: z.enum(ROLES).default('admin'),
  argv: z.array(z.string().max(4096).regex(NO_CONTROL, 'must not contain control characters')).min(1).max(64),
  params: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'param names are identifiers'), ParamSpecSchema).default({}),
  timeoutMs: z.number().int().min(100).max(3_600_000).default(60_000),
});

class ConfigIssue extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

function checkParam(name: string, spec: ParamSpec): void {
  const at = (key: string) => `params.${name}.${key}`;
  const stringOnly = ['pattern', 'maxLength', 'enum', 'kind', 'allowedRoots', 'allowLeadingDash'] as const;
  if (spec.type === 'integer') {
    for (const key of stringOnly) if (spec[key] !== undefined) throw new ConfigIssue(at(key), 'applies to string params only');
    // A typed integer cannot carry shell syntax, but an unbounded one is still an unchecked input.
    if (spec.min === undefined) throw new ConfigIssue(at('min'), 'an integer param needs min and max');
    if (spec.max === undefined) throw new ConfigIssue(at('max'), 'an integer param needs min and max');
    if (spec.min > spec.max) throw new ConfigIssue(at('min'), 'must not be greater than max');
  } else {
    if (spec.min !== undefined) throw new ConfigIssue(at('min'), 'applies to integer params only');
    if (spec.max !== undefined) throw new ConfigIssue(at('max'), 'applies to integer params only');
    if (spec.pattern === undefined && spec.enum === undefined) {
      throw new ConfigIssue(at('pattern'), 'a string param needs a pattern or an enum');
    }
    if (spec.pattern !== undefined && spec.enum !== undefined) throw new ConfigIssue(at('enum'), 'give a pattern or an enum, not both');
    if (spec.pattern !== undefined) {
      try {
        compilePattern(spec.pattern);
      } catch (err) {
        throw new ConfigIssue(at('pattern'), `is not a valid regular expression (${(err as Error).message})`);
      }
    }
    if (spec.kind === 'path' && spec.allowedRoots === undefined) throw new ConfigIssue(at('allowedRoots'), 'a path param needs allowedRoots');
    if (spec.kind === undefined && spec.allowedRoots !== undefined) throw new ConfigIssue(at('allowedRoots'), "applies to kind 'path' only");
  }
  if (spec.required === false && spec.default === undefined) {
    throw new ConfigIssue(at('default'), 'an optional param needs a default (its placeholder must always get a value)');
  }
  if (spec.default !== undefined) {
    try {
      validateValue(name, spec, spec.default);
    } catch (err) {
      throw new ConfigIssue(at('default'), `does not pass its own checks: ${(err as Error).message}`);
    }
  }
}

function checkCommand(cmd: CustomCommandConfig): void {
  const argv0 = cmd.argv[0]!;
  if (!path.isAbsolute(argv0)) throw new ConfigIssue('argv[0]', 'must be an absolute path to a program');
  if (SHELLS.has(path.basename(argv0))) {
    throw new ConfigIssue('argv[0]', 'runs a shell or a command launcher; name a script with typed arguments instead');
  }
  for (const [name, spec] of Object.entries(cmd.params)) checkParam(name, spec);
  const used = new Set<string>();
  cmd.argv.forEach((el, i) => {
    const name = placeholderOf(el);
    if (name === null) {
      if (ANY_PLACEHOLDER.test(el)) {
        // `--target={target}` would let the value run into its neighbour; make it two elements or a whole one.
        throw new ConfigIssue(`argv[${i}]`, 'a placeholder must be a whole argv element, not part of a larger string');
      }
      return;
    }
    if (i === 0) throw new ConfigIssue('argv[0]', 'must be a fixed program, not a placeholder');
    if (!Object.hasOwn(cmd.params, name)) throw new ConfigIssue(`argv[${i}]`, `placeholder {${name}} has no entry in params`);
    used.add(name);
  });
  for (const name of Object.keys(cmd.params)) {
    if (!used.has(name)) throw new ConfigIssue(`params.${name}`, 'is not used in argv');
  }
}

/**
 * Validates the operator's custom command list. Throws an Error naming the
 * command and the field, e.g. `custom command "backup": argv[2]: a placeholder
 * must be a whole argv element, not part of a larger string`.
 */
export function parseCustomCommands(json: unknown): CustomCommandConfig[] {
  if (!Array.isArray(json)) throw new Error('custom commands must be an array');
  const seen = new Set<string>();
  return json.map((raw, i) => {
    const label =
      raw && typeof raw === 'object' && typeof (raw as { name?: unknown }).name === 'string'
        ? JSON.stringify((raw as { name: string }).name.slice(0, 64))
        : `#${i}`;
    const fail = (field: string, message: string): never => {
      throw new Error(`custom command ${label}: ${field ? `${field}: ` : ''}${message}`);
    };
    const parsed = CommandSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return fail(fieldPath(issue.path), issue.message);
    }
    const cmd = parsed.data as CustomCommandConfig;
    try {
      checkCommand(cmd);
    } catch (err) {
      if (err instanceof ConfigIssue) fail(err.field, err.message);
      throw err;
    }
    if (seen.has(cmd.name)) fail('name', 'is used by an earlier command');
    seen.add(cmd.name);
    return deepFreeze(cmd);
  });
}
