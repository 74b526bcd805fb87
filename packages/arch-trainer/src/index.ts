/**
 * @metad2a/arch-trainer — Build and train NAS-Bench-201 networks in tfjs, and build meta-databases of measured accuracies.
 *
 * Not implemented yet (issue #12): this package exports nothing so far.
 */
export {};
