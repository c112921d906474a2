/**
 * ELF64 file structures (include/uapi/linux/elf.h) and the header checks that
 * load_elf_binary() and load_elf_phdrs() make before anything is mapped. Everything here
 * is pure: it reads bytes and returns either a parsed structure or -ENOEXEC, never throws.
 */
import { ENOEXEC, EIO } from '../errno.js';

export const EI_NIDENT = 16;
export const ELFMAG = [0x7f, 0x45, 0x4c, 0x46]; // "\x7fELF"
export const ELFCLASS64 = 2;
export const ELFDATA2LSB = 1;
export const EV_CURRENT = 1;
export const ET_EXEC = 2;
export const ET_DYN = 3;
export const EM_RISCV = 243;

export const PT_NULL = 0;
export const PT_LOAD = 1;
export const PT_DYNAMIC = 2;
export const PT_INTERP = 3;
export const PT_NOTE = 4;
export const PT_PHDR = 6;
export const PT_TLS = 7;
export const PT_GNU_EH_FRAME = 0x6474e550;
export const PT_GNU_STACK = 0x6474e551;
export const PT_GNU_RELRO = 0x6474e552;
export const PT_GNU_PROPERTY = 0x6474e553;
export const PT_RISCV_ATTRIBUTES = 0x70000003;

export const PF_X = 1;
export const PF_W = 2;
export const PF_R = 4;

/** sizeof(Elf64_Ehdr), sizeof(Elf64_Phdr). */
export const EHDR_SIZE = 64;
export const PHDR_SIZE = 56;
/** load_elf_phdrs() refuses program-header tables larger than this (ELF_MIN_ALIGN-independent cap). */
export const ELF_MAX_PHDR_BYTES = 65536;
/** BINPRM_BUF_SIZE: how much of the file execve reads to pick a binary format. */
export const BINPRM_BUF_SIZE = 256;

export interface ElfHeader {
  type: number;
  machine: number;
  entry: number;
  phoff: number;
  phentsize: number;
  phnum: number;
  flags: number;
}

export interface ElfPhdr {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
  align: number;
}

/** Anything exec can read an image from (the FS `File`, or a byte array in tests). */
export interface ElfSource {
  pread(buf: Uint8Array, pos: number): number;
}

/** An unsigned 64-bit little-endian field as a double; values ≥ 2^53 become inexact but stay ≥ 2^53. */
function u64(v: DataView, off: number): number {
  return v.getUint32(off + 4, true) * 0x1_0000_0000 + v.getUint32(off, true);
}

export function hasElfMagic(buf: Uint8Array): boolean {
  return buf.length >= 4 && buf[0] === 0x7f && buf[1] === 0x45 && buf[2] === 0x4c && buf[3] === 0x46;
}

/**
 * Parse and check an Elf64_Ehdr: the magic, ELFCLASS64, little endian, ET_EXEC or ET_DYN,
 * EM_RISCV (elf_check_arch), and a program-header table of sane size (load_elf_phdrs).
 */
export function parseElfHeader(buf: Uint8Array): ElfHeader | number {
  if (buf.length < EHDR_SIZE || !hasElfMagic(buf)) return -ENOEXEC;
  if (buf[4] !== ELFCLASS64 || buf[5] !== ELFDATA2LSB) return -ENOEXEC;
  const v = new DataView(buf.buffer, buf.byteOffset, EHDR_SIZE);
  const h: ElfHeader = {
    type: v.getUint16(16, true),
    machine: v.getUint16(18, true),
    entry: u64(v, 24),
    phoff: u64(v, 32),
    flags: v.getUint32(48, true),
    phentsize: v.getUint16(54, true),
    phnum: v.getUint16(56, true),
  };
  if (h.type !== ET_EXEC && h.type !== ET_DYN) return -ENOEXEC;
  if (h.machine !== EM_RISCV) return -ENOEXEC;
  if (h.phentsize !== PHDR_SIZE) return -ENOEXEC;
  if (h.phnum < 1 || h.phnum * PHDR_SIZE > ELF_MAX_PHDR_BYTES) return -ENOEXEC;
  if (h.phoff >= Number.MAX_SAFE_INTEGER) return -ENOEXEC;
  return h;
}

/** load_elf_phdrs(): read the program-header table; a short read is -EIO as in Linux (elf_read). */
export function readPhdrs(file: ElfSource, h: ElfHeader): ElfPhdr[] | number {
  const size = h.phnum * PHDR_SIZE;
  const buf = new Uint8Array(size);
  const n = file.pread(buf, h.phoff);
  if (n < 0) return n;
  if (n !== size) return -EIO;
  const v = new DataView(buf.buffer);
  const out: ElfPhdr[] = [];
  for (let i = 0; i < h.phnum; i++) {
    const o = i * PHDR_SIZE;
    out.push({
      type: v.getUint32(o, true),
      flags: v.getUint32(o + 4, true),
      offset: u64(v, o + 8),
      vaddr: u64(v, o + 16),
      filesz: u64(v, o + 32),
      memsz: u64(v, o + 40),
      align: u64(v, o + 48),
    });
  }
  return out;
}
