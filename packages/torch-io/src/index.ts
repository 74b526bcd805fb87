/**
 * @metad2a/torch-io — A safe reader for PyTorch .pt files (zip and legacy) and adapters for official MetaD2A artifacts.
 *
 * Not implemented yet (issue #7): this package exports nothing so far.
 */
export {};
