/**
 * How the commands' tables look: cli-table3's coloured header and borders on a terminal; plain
 * text when the output is redirected (a file, a pipe, CI logs) or NO_COLOR is set — escape codes
 * never land in a file.
 */
export function tableStyle(stream: NodeJS.WriteStream = process.stdout): {
  style?: { head: string[]; border: string[] };
} {
  return stream.isTTY && process.env.NO_COLOR === undefined ? {} : { style: { head: [], border: [] } };
}
