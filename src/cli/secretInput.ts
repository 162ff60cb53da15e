// Secrets (signing secrets, array passwords) come from a file, from piped stdin, or from a prompt that
// does not echo — never from argv, where they would land in shell history and `ps` (csm#1347).
import { readFile } from 'node:fs/promises';
import { CliError } from './errors.js';

export interface SecretSource {
  /** A file path, or "-" for stdin. Absent: stdin when piped, else an interactive prompt. */
  file?: string;
  /** What to ask for, e.g. "Array password". */
  prompt: string;
}

export async function readSecret(source: SecretSource): Promise<string> {
  let raw: string;
  if (source.file !== undefined && source.file !== '-') {
    try {
      raw = await readFile(source.file, 'utf8');
    } catch (error) {
      throw new CliError(`cannot read ${source.prompt.toLowerCase()} file ${source.file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  } else if (source.file === '-' || !process.stdin.isTTY) {
    raw = await readStdin();
  } else {
    raw = await promptHidden(`${source.prompt}: `);
  }
  // Files made with echo or a Kubernetes Secret end in one newline that is not part of the secret.
  const secret = raw.replace(/\r?\n$/, '');
  if (secret === '') throw new CliError(`${source.prompt} is empty`);
  return secret;
}

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads one line from the terminal in raw mode, printing nothing for the typed characters. */
function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  return new Promise((resolve, reject) => {
    let typed = '';
    const finish = (error?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return finish();
        if (char === '\u0003' || char === '\u0004') return finish(new CliError('cancelled'));
        if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
        else typed += char;
      }
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}
