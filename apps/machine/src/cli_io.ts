/** Where the `ksim` command writes and how it exits: the process, or a test's capture. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  exit(code: number): void;
}
