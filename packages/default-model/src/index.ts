/**
 * @metad2a/default-model — the embedded default search model: a MetaD2A generator and predictor
 * for NAS-Bench-201, meta-trained offline on a database built on this project's own machines
 * (class-subset tasks of MNIST and Fashion-MNIST, NB201 cells trained with a reduced recipe).
 * `defaultModelDir('nb201')` is the model directory `metad2a search` uses without `--model`.
 * See README.md for how it was built and how well it does on held-out tasks.
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
