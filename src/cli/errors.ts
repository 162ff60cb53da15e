// Errors authzctl prints as one `error: …` line on stderr before exiting with status 1.

/** A failure the user can act on; the message is printed as is. */
export class CliError extends Error {
  override name = 'CliError';
}
