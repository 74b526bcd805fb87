/**
 * An image folder with one sub-folder per class (`root/<class>/<image>.png|.jpg|.jpeg`), the
 * layout of torchvision's ImageFolder: classes are the sub-folder names in sorted order, images
 * are listed in sorted order, and each image is decoded (PNG via pngjs, JPEG via jpeg-js) only
 * when it is requested. Files with other extensions are ignored.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { MetaD2AException, ioError, parseError, validationError } from '@metad2a/core';
import { fromRgba, type ImageDataset, type RawImage } from '../images';
import { fileFingerprint } from './fingerprint';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'] as const;

/** Decode PNG or JPEG bytes (told apart by their magic bytes); `source` names the file in errors. */
export function decodeImage(bytes: Uint8Array, source: string): RawImage {
  const isPng = bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  const isJpeg = bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  if (!isPng && !isJpeg) {
    throw new MetaD2AException(
      parseError({
        source,
        field: 'magic',
        expected: 'a PNG (89 50 4e 47) or JPEG (ff d8 ff) file',
        got: Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ') || 'empty file',
      }),
    );
  }
  try {
    if (isPng) {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return fromRgba(png.width, png.height, new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength));
    }
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
    return fromRgba(img.width, img.height, img.data);
  } catch (err) {
    throw new MetaD2AException(
      parseError({
        source,
        field: isPng ? 'PNG data' : 'JPEG data',
        expected: `a decodable ${isPng ? 'PNG' : 'JPEG'} image`,
        got: String((err as Error).message ?? err),
        cause: err,
      }),
    );
  }
}

/** Read and decode one image file. */
export function readImageFile(file: string): RawImage {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new MetaD2AException(ioError({ source: file, expected: 'a readable image file', got: (err as Error).message, cause: err }));
  }
  return decodeImage(bytes, file);
}

export interface ImageFolderOptions {
  readonly name?: string;
}

/** An image dataset over `root/<class>/<image>` (see the module comment). */
export function readImageFolder(root: string, opts: ImageFolderOptions = {}): ImageDataset {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(root, { withFileTypes: true });
  } catch (err) {
    throw new MetaD2AException(ioError({ source: root, expected: 'a readable folder with one sub-folder per class', got: (err as Error).message, cause: err }));
  }
  const classNames = entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  if (classNames.length === 0)
    throw new MetaD2AException(
      validationError({ source: root, field: 'class folders', expected: 'at least one sub-folder (one per class) holding .png/.jpg/.jpeg images', got: 'no sub-folders' }),
    );
  const files: string[] = [];
  const labels: number[] = [];
  const empty: string[] = [];
  classNames.forEach((cls, k) => {
    const dir = path.join(root, cls);
    const imgs = fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isFile() && (IMAGE_EXTENSIONS as readonly string[]).includes(path.extname(e.name).toLowerCase()))
      .map((e) => e.name)
      .sort();
    if (imgs.length === 0) empty.push(cls);
    for (const f of imgs) {
      files.push(path.join(dir, f));
      labels.push(k);
    }
  });
  if (empty.length > 0) {
    throw new MetaD2AException(
      validationError({
        source: root,
        field: 'class folders',
        expected: 'at least one .png/.jpg/.jpeg image in every class folder',
        got: `no images in ${empty.map((e) => JSON.stringify(e)).join(', ')}`,
      }),
    );
  }
  return {
    kind: 'images',
    name: opts.name ?? path.basename(path.resolve(root)),
    classNames,
    labels: Int32Array.from(labels),
    size: files.length,
    fingerprint: `folder:${files.map(fileFingerprint).join(';')}`,
    image: (i: number) => readImageFile(files[i]!),
  };
}
