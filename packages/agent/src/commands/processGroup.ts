import { promises as fs } from 'node:fs';

/** pgrp and state from one /proc/<pid>/stat line (comm may hold spaces and parentheses). */
export function parseGroupAndState(statLine: string): { pgrp: number; state: string } | null {
  const close = statLine.lastIndexOf(')');
  if (close < 0) return null;
  // After "comm) ": field 3 state, field 4 ppid, field 5 pgrp.
  const f = statLine.slice(close + 2).split(' ');
  const pgrp = Number(f[2]);
  return f[0] && Number.isInteger(pgrp) ? { pgrp, state: f[0] } : null;
}

/**
 * PIDs in process group `pgid` that are not zombies. A zombie has already
 * died; it stays in the group only until its parent reaps it, which for
 * orphans is PID 1, whenever PID 1 gets round to it (a second or more in some
 * containers). Linux only, like the rest of the agent.
 */
export async function liveGroupMembers(pgid: number, procRoot = '/proc'): Promise<number[]> {
  const names = (await fs.readdir(procRoot)).filter((n) => /^\d+$/.test(n));
  const live: number[] = [];
  await Promise.all(
    names.map(async (n) => {
      try {
        const st = parseGroupAndState(await fs.readFile(`${procRoot}/${n}/stat`, 'utf8'));
        if (st && st.pgrp === pgid && st.state !== 'Z' && st.state !== 'X') live.push(Number(n));
      } catch {
        // exited between readdir and readFile
      }
    }),
  );
  return live;
}
