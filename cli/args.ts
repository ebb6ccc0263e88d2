import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * Command-line parsing shared by every `anju` command. A mistake on the command line (an unknown
 * option, a missing value, an unknown role) is a `UsageError`: main prints its message and the
 * usage of the command it belongs to, and exits 2, as getopt-style tools do — never a stack trace.
 */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(message: string, readonly usage: string) {
    super(message);
  }
}

/** Asked for help (`--help`, `-h`): main prints `usage` and exits 0; nothing is started. */
export class HelpRequested extends Error {
  override name = 'HelpRequested';
  constructor(readonly usage: string) {
    super('help requested');
  }
}

export const isHelpFlag = (arg: string | undefined): boolean => arg === '--help' || arg === '-h' || arg === 'help';

/**
 * `parseArgs` in strict mode, with `--help`/`-h` understood everywhere and node's
 * ERR_PARSE_ARGS_* errors turned into a UsageError carrying this command's usage.
 */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, usage: string, opts: { positionals?: boolean } = {}) {
  // Help wins over everything else on the line, even over options that are wrong.
  if (argv.some((a) => a === '--help' || a === '-h')) throw new HelpRequested(usage);
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: opts.positionals ?? false });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code?.startsWith('ERR_PARSE_ARGS_')) throw new UsageError((err as Error).message, usage);
    throw err;
  }
}
