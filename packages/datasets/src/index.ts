/**
 * @metad2a/datasets — Dataset readers and feature extraction: from real images to the set encoder's class-contiguous input.
 *
 * Not implemented yet (issue #9): this package exports nothing so far.
 */
export {};
