/**
 * @metad2a/meta-trainer — The meta-database (SQLite) and the meta-training loops of generator and predictor.
 *
 * Not implemented yet (issue #8): this package exports nothing so far.
 */
export {};
