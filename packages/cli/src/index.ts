/**
 * @metad2a/cli — The metad2a command-line tool.
 *
 * Not implemented yet (issue #10): this package exports nothing so far.
 */
export {};
