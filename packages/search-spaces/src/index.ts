/**
 * @metad2a/search-spaces — NAS-Bench-201 and MobileNetV3 (Once-for-All) search spaces with their benchmark data.
 *
 * Not implemented yet (issue #3): this package exports nothing so far.
 */
export {};
