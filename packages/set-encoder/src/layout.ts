import type * as tf from '@tensorflow/tfjs-core';
import { MetaD2AException, shapeMismatch, validationError, type SetLayout } from '@metad2a/core';

/** Throws a clear error unless x is `[B, classes·perClass, inputDim]` with a sane layout. */
export function checkSetInput(x: tf.Tensor, layout: SetLayout, inputDim: number, source: string): void {
  const { classes, perClass } = layout;
  if (!Number.isInteger(classes) || classes < 1 || !Number.isInteger(perClass) || perClass < 1) {
    throw new MetaD2AException(validationError({ source, field: 'layout', expected: 'positive integer classes and perClass', got: JSON.stringify(layout) }));
  }
  if (x.rank !== 3) throw new MetaD2AException(shapeMismatch({ source, field: 'x', expected: '[B, C·n, d] (rank 3, with the batch axis)', got: `[${x.shape.join(', ')}]` }));
  const [, rows, d] = x.shape as [number, number, number];
  if (rows !== classes * perClass) {
    throw new MetaD2AException(
      shapeMismatch({
        source,
        field: 'x',
        expected: `${classes} classes × ${perClass} samples = ${classes * perClass} rows per dataset (class-contiguous)`,
        got: `${rows} rows (shape [${x.shape.join(', ')}])`,
      }),
    );
  }
  if (d !== inputDim) throw new MetaD2AException(shapeMismatch({ source, field: 'x', expected: `feature width ${inputDim}`, got: `${d} (shape [${x.shape.join(', ')}])` }));
}
