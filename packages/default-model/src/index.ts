/**
 * @metad2a/default-model — the embedded default search models. NB201: a MetaD2A generator and
 * predictor meta-trained offline on a database built on this project's own machines (class-subset
 * tasks of MNIST, Fashion-MNIST and rendered glyph sources, NB201 cells trained with a reduced
 * recipe). MBv3 (OFA): not meta-trained yet (no MBv3 meta-database exists) — a predictor
 * pre-trained on OFA's ImageNet accuracy predictor and a generator trained on the subnets it rates
 * best. `defaultModelDir(space)` is the model directory `metad2a search --space <space>` uses
 * without `--model`. See README.md for how each was built and what was measured.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Root of the shipped models (works from src/ in the repository and from dist/ when installed). */
export function defaultModelsRoot(): string {
  return path.resolve(__dirname, '..', 'models');
}

/** The model directory of the default model for a space, or undefined where none ships. */
export function defaultModelDir(space: string): string | undefined {
  const dir = path.join(defaultModelsRoot(), space);
  return fs.existsSync(path.join(dir, 'model.json')) ? dir : undefined;
}

/** Spaces that have a shipped default model. */
export function defaultModelSpaces(): string[] {
  const root = defaultModelsRoot();
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root)
    .filter((s) => fs.existsSync(path.join(root, s, 'model.json')))
    .sort();
}
