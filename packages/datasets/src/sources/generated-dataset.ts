import { MetaD2AException, Rng, validationError } from '@metad2a/core';
import type { ImageDataset, RawImage } from '../images';
import type { NormalisationName } from '../preprocess';

/**
 * The image dataset of a generated source: `perClass` images per class, image `i` of class
 * `floor(i / perClass)` drawn from a generator seeded by (source name, version, class, index), so
 * any image can be made alone, in any order, with the same bytes.
 */
export function generatedDataset(
  name: string,
  version: string,
  classNames: readonly string[],
  perClass: number,
  normalisation: NormalisationName,
  draw: (classIndex: number, rng: Rng) => RawImage,
): ImageDataset {
  const labels = new Int32Array(classNames.length * perClass);
  for (let i = 0; i < labels.length; i++) labels[i] = Math.floor(i / perClass);
  return {
    kind: 'images',
    name,
    classNames,
    labels,
    size: labels.length,
    fingerprint: `source:${name}@${version}`,
    normalisation,
    image(i: number): RawImage {
      if (!Number.isInteger(i) || i < 0 || i >= labels.length)
        throw new MetaD2AException(validationError({ source: name, field: 'image index', expected: `an integer in 0..${labels.length - 1}`, got: String(i) }));
      const c = labels[i]!;
      return draw(c, new Rng(`${name}|${version}|${c}|${i % perClass}`));
    },
  };
}
