#!/usr/bin/env node
import path from 'node:path';
import { verifyAuditDir } from './audit/verifyAudit';

const USAGE = 'usage: auditCli verify <dir>';

/** Runs the audit CLI; returns the exit code: 0 intact, 1 broken, 2 usage or read error. */
export async function runAuditCli(args: readonly string[], out = console.log, err = console.error): Promise<number> {
  if (args.length === 1 && (args[0] === '--help' || args[0] === '-h')) {
    out(USAGE);
    return 0;
  }
  if (args.length !== 2 || args[0] !== 'verify') {
    err(USAGE);
    return 2;
  }
  const dir = args[1]!;
  let result;
  try {
    result = await verifyAuditDir(dir);
  } catch (e) {
    err(`auditCli: cannot read ${dir}: ${(e as Error).message}`);
    return 2;
  }
  if (result.ok) {
    out(`OK: ${result.entries} entries in ${result.files.length} files`);
    return 0;
  }
  const { file, line, seq } = result.brokenAt;
  out(`BROKEN at ${path.join(dir, file)}:${line} (seq ${seq ?? '?'}): ${result.reason}`);
  return 1;
}

if (require.main === module) {
  void runAuditCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
