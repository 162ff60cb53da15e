// An adapter README's operation table (`## Operation table`, columns Request | Example | Operation | …)
// as rows a test can classify: the table is the classifier's specification, for every array type.
import { readFile } from 'node:fs/promises';

export interface OperationTableRow {
  example: string;
  method: string;
  path: string;
  body: string;
  kind: string;
}

export async function operationTable(readmeFile: string): Promise<OperationTableRow[]> {
  const readme = await readFile(readmeFile, 'utf8');
  const section = readme.split('## Operation table')[1]?.split('\n## ')[0] ?? '';
  const rows: OperationTableRow[] = [];
  for (const line of section.split('\n')) {
    if (!line.startsWith('| ') || line.startsWith('| Request') || line.startsWith('| ---')) continue;
    const cells = line.split(' | ');
    const example = /^`(.+)`$/.exec(cells[1]!.trim())?.[1];
    const kind = /^`([a-z-]+)`$/.exec(cells[2]!.trim())?.[1];
    if (!example || !kind) throw new Error(`README operation table row without an example or operation: ${line}`);
    const [method, requestPath, ...body] = example.split(' ');
    rows.push({ example, method: method!, path: requestPath!, body: body.join(' '), kind });
  }
  return rows;
}
