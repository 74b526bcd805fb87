/**
 * The named task sources of the meta-database: where tasks (class subsets) come from. Each source
 * is deterministic and offline: a shipped data set (`builtin:*`), characters of a writing system
 * rendered from Noto fonts, or a procedural colour generator. `split` says whether a source may
 * be used in meta-training (`train`) or is reserved for evaluating transfer (`heldout`: Latin
 * letters, Arabic-numeral digits and one colour source never enter meta-training).
 *
 * A source's `version` changes whenever its images would change (generator code, font package
 * version, images per class): records and queued jobs carry it, and a worker refuses a job made
 * with another version.
 */
import { MetaD2AException, notFound } from '@metad2a/core';
import { builtinDataset } from '../builtin';
import type { ImageDataset } from '../images';
import { glyphDataset, type FontFamily, type GlyphScript } from './glyph-source';
import { proceduralDataset, type ProceduralKind } from './procedural';

export type SourceSplit = 'train' | 'heldout';

export interface TaskSource {
  /** Name used in references: `source:<name>` (or the builtin reference for shipped data sets). */
  readonly name: string;
  /** The dataset reference that resolves to it (`source:glyphs-greek`, `builtin:mnist`). */
  readonly ref: string;
  readonly domain: 'glyphs' | 'handwriting' | 'clothing' | 'colour';
  readonly split: SourceSplit;
  readonly numClasses: number;
  /** Changes whenever the images would change. */
  readonly version: string;
  readonly licence: string;
  readonly description: string;
  /** For rendered sources: the characters (code points), one class each, in class order. */
  readonly codepoints?: readonly number[];
  load(): ImageDataset;
}

const range = (from: number, to: number, skip: readonly number[] = []): number[] => {
  const out: number[] = [];
  for (let c = from; c <= to; c++) if (!skip.includes(c)) out.push(c);
  return out;
};

const fam = (pkg: string, version: string, family: string, subset: string): FontFamily => ({ pkg: `@fontsource/${pkg}`, version, family, subset });
const NOTO_SANS = (subset: string) => fam('noto-sans', '5.3.0', 'noto-sans', subset);
const NOTO_SERIF = (subset: string) => fam('noto-serif', '5.3.0', 'noto-serif', subset);

/**
 * Scripts (one class per character). Letters that look like Latin letters (Greek Α Β Ε…, Cyrillic
 * А В Е…) are left out so that no Latin letter shape enters meta-training.
 */
const GLYPH_SCRIPTS: Record<string, GlyphScript & { readonly split: SourceSplit; readonly label: string }> = {
  greek: {
    label: 'Greek letters (without the Latin look-alikes)',
    split: 'train',
    families: [NOTO_SANS('greek'), NOTO_SERIF('greek')],
    codepoints: [...[0x393, 0x394, 0x398, 0x39b, 0x39e, 0x3a0, 0x3a3, 0x3a6, 0x3a8, 0x3a9], ...range(0x3b1, 0x3c9, [0x3bf, 0x3c2])],
  },
  cyrillic: {
    label: 'Cyrillic letters (without the Latin look-alikes)',
    split: 'train',
    families: [NOTO_SANS('cyrillic'), NOTO_SERIF('cyrillic')],
    codepoints: range(0x411, 0x44f, [0x412, 0x415, 0x41a, 0x41c, 0x41d, 0x41e, 0x420, 0x421, 0x422, 0x425, 0x430, 0x435, 0x43e, 0x440, 0x441, 0x443, 0x445]),
  },
  armenian: {
    label: 'Armenian letters',
    split: 'train',
    families: [fam('noto-sans-armenian', '5.3.0', 'noto-sans-armenian', 'armenian')],
    codepoints: [...range(0x531, 0x556), ...range(0x561, 0x586)],
  },
  georgian: {
    label: 'Georgian Mkhedruli letters',
    split: 'train',
    families: [fam('noto-sans-georgian', '5.3.0', 'noto-sans-georgian', 'georgian')],
    codepoints: range(0x10d0, 0x10f0),
  },
  hebrew: { label: 'Hebrew letters', split: 'train', families: [fam('noto-sans-hebrew', '5.3.0', 'noto-sans-hebrew', 'hebrew')], codepoints: range(0x5d0, 0x5ea) },
  arabic: {
    label: 'Arabic letters (isolated forms)',
    split: 'train',
    families: [fam('noto-sans-arabic', '5.2.5', 'noto-sans-arabic', 'arabic')],
    codepoints: range(0x627, 0x64a, range(0x63b, 0x640)),
  },
  devanagari: { label: 'Devanagari vowels and consonants', split: 'train', families: [NOTO_SANS('devanagari')], codepoints: [...range(0x905, 0x914), ...range(0x915, 0x939)] },
  bengali: {
    label: 'Bengali vowels and consonants',
    split: 'train',
    families: [fam('noto-sans-bengali', '5.2.6', 'noto-sans-bengali', 'bengali')],
    codepoints: [...range(0x985, 0x98c), 0x98f, 0x990, ...range(0x993, 0x9a8), ...range(0x9aa, 0x9b0), 0x9b2, ...range(0x9b6, 0x9b9)],
  },
  thai: { label: 'Thai consonants', split: 'train', families: [fam('noto-sans-thai', '5.3.0', 'noto-sans-thai', 'thai')], codepoints: range(0xe01, 0xe2e) },
  tamil: {
    label: 'Tamil vowels and consonants',
    split: 'train',
    families: [fam('noto-sans-tamil', '5.0.8', 'noto-sans-tamil', 'tamil')],
    codepoints: [
      ...range(0xb85, 0xb8a),
      ...range(0xb8e, 0xb90),
      ...range(0xb92, 0xb94),
      0xb95,
      0xb99,
      0xb9a,
      0xb9c,
      0xb9e,
      0xb9f,
      0xba3,
      0xba4,
      0xba8,
      0xba9,
      0xbaa,
      ...range(0xbae, 0xbb9),
    ],
  },
  khmer: { label: 'Khmer consonants', split: 'train', families: [fam('noto-sans-khmer', '5.0.8', 'noto-sans-khmer', 'khmer')], codepoints: range(0x1780, 0x17a2) },
  ethiopic: {
    label: 'Ethiopic syllables (first order of each consonant)',
    split: 'train',
    families: [fam('noto-sans-ethiopic', '5.0.8', 'noto-sans-ethiopic', 'ethiopic')],
    codepoints: range(0, 32).map((i) => 0x1200 + 8 * i),
  },
  tifinagh: {
    label: 'Tifinagh letters (one weight: the package ships only 400)',
    split: 'train',
    families: [{ ...fam('noto-sans-tifinagh', '5.3.0', 'noto-sans-tifinagh', 'tifinagh'), weights: [400] }],
    codepoints: range(0x2d30, 0x2d65),
  },
  // Held out: Latin letters, in two families kept apart (sans for one use, serif for another).
  'latin-sans': {
    label: 'Latin letters A–Z, a–z in Noto Sans (held out)',
    split: 'heldout',
    families: [NOTO_SANS('latin')],
    codepoints: [...range(0x41, 0x5a), ...range(0x61, 0x7a)],
  },
  'latin-serif': {
    label: 'Latin letters A–Z, a–z in Noto Serif (held out)',
    split: 'heldout',
    families: [NOTO_SERIF('latin')],
    codepoints: [...range(0x41, 0x5a), ...range(0x61, 0x7a)],
  },
};

/** Images rendered per class by the generated sources. */
export const GENERATED_PER_CLASS = 200;
/** Version of the generator code; part of every generated source's version. */
const GENERATOR_VERSION = 'g2';

const PROCEDURAL: Record<string, { kind: ProceduralKind; split: SourceSplit; numClasses: number; description: string }> = {
  textures: {
    kind: 'textures',
    split: 'train',
    numClasses: 20,
    description: 'colour textures: stripes, checks, rings, dots, spokes, hatching, blobs, grain at two scales (random colours)',
  },
  'colour-blobs': {
    kind: 'colour-blobs',
    split: 'train',
    numClasses: 12,
    description: 'blobs of one dominant hue (6 bins) as one large blob or many small ones, on a greyish background',
  },
  shapes: {
    kind: 'shapes',
    split: 'heldout',
    numClasses: 10,
    description: 'one filled shape (circle, square, triangle, star, ring, cross, ellipse, hexagon, L, arrow) on a colour gradient (held out)',
  },
};

function buildSources(): TaskSource[] {
  const out: TaskSource[] = [];
  const builtin = (name: string, domain: TaskSource['domain'], split: SourceSplit, licence: string): TaskSource => {
    const b = builtinDataset(name);
    return { name, ref: `builtin:${name}`, domain, split, numClasses: 10, version: `builtin-${name}-1`, licence, description: b.description, load: () => b.load() };
  };
  out.push(builtin('fashion-mnist', 'clothing', 'train', 'MIT (Zalando Research)'));
  out.push(builtin('mnist', 'handwriting', 'heldout', 'CC BY-SA 3.0 (LeCun, Cortes, Burges)'));
  out.push(builtin('digits', 'handwriting', 'heldout', 'CC BY 4.0 (UCI optdigits, via scikit-learn)'));
  for (const [script, def] of Object.entries(GLYPH_SCRIPTS)) {
    const name = `glyphs-${script}`;
    const version = `${GENERATOR_VERSION}-${GENERATED_PER_CLASS}-${def.families.map((f) => `${f.pkg.slice('@fontsource/'.length)}@${f.version}`).join('+')}`;
    out.push({
      name,
      ref: `source:${name}`,
      domain: 'glyphs',
      split: def.split,
      numClasses: def.codepoints.length,
      codepoints: def.codepoints,
      version,
      licence: 'fonts: SIL Open Font License 1.1 (Noto, via @fontsource); images: generated',
      description: `${def.label}, ${def.codepoints.length} classes, rendered from ${def.families.map((f) => f.pkg).join(' + ')} at 4 weights with augmentation`,
      load: () => glyphDataset(name, version, def, GENERATED_PER_CLASS),
    });
  }
  for (const [name, def] of Object.entries(PROCEDURAL)) {
    const version = `${GENERATOR_VERSION}-${GENERATED_PER_CLASS}`;
    out.push({
      name,
      ref: `source:${name}`,
      domain: 'colour',
      split: def.split,
      numClasses: def.numClasses,
      version,
      licence: 'generated (MIT, this project)',
      description: def.description,
      load: () => proceduralDataset(name, version, def.kind, GENERATED_PER_CLASS),
    });
  }
  return out;
}

let cache: TaskSource[] | undefined;
/** Every task source, shipped and generated. */
export function taskSources(): readonly TaskSource[] {
  return (cache ??= buildSources());
}

/** A task source by name (`glyphs-greek`) or reference (`source:glyphs-greek`, `builtin:mnist`). */
export function taskSource(nameOrRef: string): TaskSource {
  const s = taskSources().find((t) => t.name === nameOrRef || t.ref === nameOrRef);
  if (!s) {
    throw new MetaD2AException(
      notFound({
        source: 'task sources',
        field: nameOrRef,
        expected: `one of ${taskSources()
          .map((t) => t.name)
          .join(', ')}`,
        got: 'an unknown source',
      }),
    );
  }
  return s;
}
