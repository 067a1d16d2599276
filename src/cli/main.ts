import { Command } from 'commander';

import { isArbiterError } from '../errors.js';
import { backendsCommand } from './backends.js';

const program = new Command();
program.name('arbiter').description('Multi-model router and reward-guided inference engine').version('0.1.0');

program
  .command('backends')
  .description('list compute backends: availability (with the reason) and probe throughput')
  .option('--json', 'print JSON instead of a table')
  .action(backendsCommand);

program.parseAsync(process.argv).catch((e: unknown) => {
  const msg = isArbiterError(e) ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
  process.stderr.write(`arbiter: ${msg}\n`);
  process.exit(1);
});
