// @ts-check
'use strict';
/**
 * Builds the agent as of one git commit in a temporary folder, so a run
 * measures exactly that commit even while the working tree is being edited
 * (and rebuilt) by someone else. Dependencies are the working tree's
 * node_modules, linked entry by entry; @viworks/protocol points at the
 * commit's own copy.
 */
const { execFileSync } = require('node:child_process');
const { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');

/** @param {string[]} args */
const git = (args) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();

/**
 * Identity of the code a run measured.
 * @param {string} agentMain
 */
function describeSource(agentMain) {
  try {
    if (!agentMain.startsWith(ROOT + path.sep)) return { agentMain };
    const dirty = git(['status', '--porcelain', '--', 'packages/agent', 'packages/protocol']);
    return { agentMain: path.relative(ROOT, agentMain), commit: git(['rev-parse', 'HEAD']), uncommittedAgentChanges: dirty ? dirty.split('\n').length : 0 };
  } catch {
    return { agentMain };
  }
}

/**
 * @param {string} rev any git revision (HEAD, a sha, a branch)
 * @returns {{ agentMain: string, commit: string, dir: string }}
 */
function buildAt(rev) {
  const commit = git(['rev-parse', '--verify', `${rev}^{commit}`]);
  const dir = path.join(os.tmpdir(), `viworks-bench-${commit.slice(0, 12)}`);
  const agentMain = path.join(dir, 'packages', 'agent', 'dist', 'main.js');
  if (existsSync(agentMain)) return { agentMain, commit, dir };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const tar = execFileSync('git', ['archive', '--format=tar', commit, 'package.json', 'tsconfig.base.json', 'packages/protocol', 'packages/agent'], { cwd: ROOT, maxBuffer: 256 << 20 });
  execFileSync('tar', ['-x', '-C', dir], { input: tar });
  const modules = path.join(dir, 'node_modules');
  mkdirSync(path.join(modules, '@viworks'), { recursive: true });
  for (const name of readdirSync(path.join(ROOT, 'node_modules'))) {
    if (name === '@viworks' || name === '.bin' || name.startsWith('.')) continue;
    symlinkSync(path.join(ROOT, 'node_modules', name), path.join(modules, name));
  }
  symlinkSync(path.join(dir, 'packages', 'protocol'), path.join(modules, '@viworks', 'protocol'));
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-b', path.join(dir, 'packages', 'agent')], { cwd: dir, stdio: 'inherit', timeout: 300_000 });
  return { agentMain, commit, dir };
}

module.exports = { buildAt, describeSource };
