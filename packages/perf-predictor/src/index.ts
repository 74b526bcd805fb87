/**
 * @metad2a/perf-predictor — The MetaD2A meta-performance predictor: dataset + graph encoding to accuracy, with fast candidate ranking.
 *
 * Not implemented yet (issue #6): this package exports nothing so far.
 */
export {};
