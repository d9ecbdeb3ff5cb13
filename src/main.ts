#!/usr/bin/env node
// bound-imaged entry point: process lifecycle only (the daemon wiring lands with the D-Bus service).
const USAGE = 'usage: bound-imaged [--config PATH]\n';

function main(argv: string[]): number {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  process.stderr.write('bound-imaged: the daemon is not implemented yet\n' + USAGE);
  return 2;
}

process.exitCode = main(process.argv.slice(2));
