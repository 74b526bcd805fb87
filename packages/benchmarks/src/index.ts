/**
 * @metad2a/benchmarks — The benchmark suite that reproduces the MetaD2A paper's tables.
 *
 * Not implemented yet (issue #13): this package exports nothing so far.
 */
export {};
