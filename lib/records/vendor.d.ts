/** Types of the two pure-JavaScript codec packages that ship none (lib/records/codecs.ts). */
declare module 'snappyjs' {
  interface SnappyJs {
    /** Raw snappy (no framing). Throws on bad input or an uncompressed length above maxLength. */
    uncompress(compressed: Buffer, maxLength?: number): Buffer;
    compress(uncompressed: Buffer): Buffer;
  }
  const snappyjs: SnappyJs;
  export default snappyjs;
}

declare module 'lz4js' {
  interface Lz4Js {
    /** Decodes one lz4 block of src[sIndex, sIndex + sLength) into dst from dIndex; returns the new dIndex. */
    decompressBlock(src: Uint8Array, dst: Uint8Array, sIndex: number, sLength: number, dIndex: number): number;
    /** Encodes src[sIndex, sIndex + sLength) into dst from 0; returns the encoded length (0: incompressible). */
    compressBlock(src: Uint8Array, dst: Uint8Array, sIndex: number, sLength: number, hashTable: Uint32Array): number;
    compressBound(n: number): number;
    /** A whole lz4 frame (4 MiB linked blocks). */
    compress(src: Uint8Array): Uint8Array;
  }
  const lz4js: Lz4Js;
  export default lz4js;
}

declare module 'lz4js/xxh32.js' {
  interface Xxh32 {
    /** xxHash32 of src[index, index + len) with `seed`. */
    hash(seed: number, src: Uint8Array, index: number, len: number): number;
  }
  const xxh32: Xxh32;
  export default xxh32;
}
