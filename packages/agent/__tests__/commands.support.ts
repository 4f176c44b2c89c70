import { CommandRejected } from '../src/commands/commandRejected';

/** The CommandRejected a promise fails with; anything else (or success) fails the test. */
export async function rejection(p: Promise<unknown>): Promise<CommandRejected> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CommandRejected) return err;
    throw err;
  }
  throw new Error('expected CommandRejected');
}
