#!/usr/bin/env node
// bound-images client entry point (commands land with the D-Bus service).
const USAGE = 'usage: bound-images <status|list|upgrade> [options]\n';

function main(argv: string[]): number {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  process.stderr.write('bound-images: the client is not implemented yet\n' + USAGE);
  return 2;
}

process.exitCode = main(process.argv.slice(2));
