/**
 * @metad2a/set-encoder — The two-level Set Transformer that encodes a dataset into a vector, and swappable alternatives.
 *
 * Not implemented yet (issue #4): this package exports nothing so far.
 */
export {};
