/**
 * @metad2a/search — The MetaD2A search pipeline: dataset -> generated candidates -> predictor ranking -> report.
 *
 * Not implemented yet (issue #10): this package exports nothing so far.
 */
export {};
