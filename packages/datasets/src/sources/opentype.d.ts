// The part of opentype.js 2.0 (which ships no types) that the glyph sources use.
declare module 'opentype.js' {
  export interface Glyph {
    readonly index: number;
    readonly name: string | null;
    getPath(x: number, y: number, fontSize: number): { commands: Array<Record<string, number | string>> };
  }
  export interface Font {
    readonly unitsPerEm: number;
    readonly numGlyphs: number;
    charToGlyphIndex(ch: string): number;
    charToGlyph(ch: string): Glyph;
  }
  export function parse(buffer: ArrayBuffer): Font;
}
