/**
 * @metad2a/graph-generator — The dataset-conditioned D-VAE graph generator of MetaD2A.
 *
 * Not implemented yet (issue #5): this package exports nothing so far.
 */
export {};
