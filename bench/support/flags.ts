// Command-line flags of the standalone bench scripts.

/** The number after `name` on the command line (`--volumes 1000`), or undefined when `name` is absent. */
export function numberFlag(name: string): number | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? Number(process.argv[index + 1]) : undefined;
}
