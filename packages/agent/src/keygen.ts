#!/usr/bin/env node
// viworks-agent-keygen --id collector-1 --role viewer [--file /etc/viworks/keys.json]
// Creates an API key, adds its hash to the key file (created 0600 if absent)
// and prints the key once. The running agent picks the change up by itself.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateKey, hashKey, parseKeyFile } from './security/keyStore';
import { ROLES, type Role } from './security/roles';

export function addKey(file: string, id: string, role: Role): string {
  let doc: { keys: Array<{ id: string; role: string; hash: string }> } = { keys: [] };
  if (fs.existsSync(file)) {
    const text = fs.readFileSync(file, 'utf8');
    parseKeyFile(text); // refuse to extend a file that is already broken
    doc = JSON.parse(text);
  }
  if (doc.keys.some((k) => k.id === id)) throw new Error(`a key with id "${id}" already exists in ${file}`);
  const key = generateKey();
  doc.keys.push({ id, role, hash: hashKey(key) });
  parseKeyFile(JSON.stringify(doc)); // validates the id
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // Write then rename: the agent never reads a half-written file.
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(doc, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, file);
  return key;
}

if (require.main === module) {
  try {
    const { values } = parseArgs({
      options: { id: { type: 'string' }, role: { type: 'string' }, file: { type: 'string' } },
      strict: true,
    });
    const file = values.file ?? process.env.AGENT_KEYS_FILE;
    if (!values.id || !values.role || !file) throw new Error('usage: viworks-agent-keygen --id <id> --role viewer|operator|admin [--file keys.json]');
    if (!(ROLES as readonly string[]).includes(values.role)) throw new Error(`--role must be one of ${ROLES.join(', ')}`);
    const key = addKey(path.resolve(file), values.id, values.role as Role);
    process.stderr.write(`added key "${values.id}" (${values.role}) to ${file}; store it now, it is not shown again:\n`);
    process.stdout.write(`${key}\n`);
  } catch (err) {
    process.stderr.write(`viworks-agent-keygen: ${(err as Error).message}\n`);
    process.exit(2);
  }
}
