#!/usr/bin/env node
// Prints the consistency of an image record for Nx's `runtime` hash input:
//   node -e "require('turbolift/record-consistency')" dist/apps/x-service/image.json
import { recordConsistency } from './record-check';

const recordFile = process.argv[process.argv.length - 1];
recordConsistency(recordFile).then((line) => process.stdout.write(`${line}\n`));
