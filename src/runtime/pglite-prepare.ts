import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { migrateDatabase, openDatabase } from '../db/client.js';

/**
 * Creating a PGlite database (its first run) inflates the heap of the process that does it to about
 * 900 MB, which V8 keeps. So `npm start` creates and migrates the folder in a short-lived child process
 * (this file, run by the same node with the same flags) and then opens the finished folder itself.
 * The parent holds the folder's lock meanwhile; the child is its hand.
 */
export function prepareInChild(dir: string): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, self, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-4000)));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`preparing the PGlite database in ${dir} failed (${signal ?? `exit ${code}`})${stderr.trim() ? `: ${stderr.trim().split('\n').slice(-3).join(' ')}` : ''}`));
    });
  });
}

async function runChild(dir: string): Promise<void> {
  const database = await openDatabase({ pgliteDir: dir });
  try {
    await migrateDatabase(database);
  } finally {
    await database.close();
  }
}

const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(path.resolve(entry)).href) {
  const dir = process.argv[2];
  if (!dir) process.exit(2);
  // The parent's SIGTERM (the app stopped during start-up) ends the child too.
  process.once('SIGTERM', () => process.exit(143));
  runChild(dir).then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
