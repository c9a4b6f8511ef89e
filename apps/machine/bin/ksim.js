#!/usr/bin/env node
// The `ksim` command. A file of its own (not dist/) so that the bin exists
// before the first build of a fresh clone. It loads the CLI's bundle
// (rolldown.config.mjs): one file to read at start-up instead of the ~150
// modules of dist/cli.js and its packages.
import { run_cli } from "../dist/cli.bundle.js";

run_cli();
