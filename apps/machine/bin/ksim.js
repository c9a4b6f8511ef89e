#!/usr/bin/env node
// The `ksim` command. A file of its own (not dist/cli.js) so that the bin
// exists before the first build of a fresh clone.
import { run_cli } from "../dist/cli.js";

run_cli();
