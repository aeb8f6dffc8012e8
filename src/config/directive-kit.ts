/**
 * The parts the directive table (directives.ts) is built from: the guide's sections, the spec of one
 * directive, and the readers of its arguments (arity, yes/no, integers, sizes, enumerations).
 */
import type { Deployment } from './schema.js';
import { formatRedisSize, parseRedisSize } from './units.js';

export const SECTIONS = [
  'Basic configuration',
  'Memory management',
  'Persistence',
  'Logging',
  'Security',
  'Performance tuning',
  'Snapshotting',
  'Advanced configuration',
] as const;
export type Section = (typeof SECTIONS)[number];

/** State kept while reading one file set: `save` lines replace the built-in save points on first use. */
export interface ReadState {
  saveSeen: boolean;
}

export interface DirectiveSpec {
  name: string;
  aliases: string[];
  section: Section;
  /** reads one occurrence into the model; throws an Error whose message says what is allowed */
  read(d: Deployment, args: string[], state: ReadState): void;
  /** the lines (argument lists) this directive renders to */
  render(d: Deployment): string[][];
}

export function arity(args: string[], count: number, usage: string): void {
  if (args.length !== count) throw new Error(`expects ${usage}`);
}

export function readYesNo(args: string[]): boolean {
  arity(args, 1, '"yes" or "no"');
  const v = args[0]!.toLowerCase();
  if (v === 'yes') return true;
  if (v === 'no') return false;
  throw new Error(`"${args[0]}" is not "yes" or "no"`);
}

export function readInt(args: string[], min: number, max = Number.MAX_SAFE_INTEGER): number {
  arity(args, 1, 'one whole number');
  const text = args[0]!;
  if (!/^-?\d+$/.test(text)) throw new Error(`"${text}" is not a whole number`);
  const n = Number(text);
  if (n < min || n > max) throw new Error(`${n} is out of range (${min}..${max})`);
  return n;
}

export function readSizeArg(text: string): number {
  const bytes = parseRedisSize(text);
  if (bytes === undefined || bytes < 0) throw new Error(`"${text}" is not a size (bytes, or a number with k, kb, m, mb, g or gb)`);
  return bytes;
}

export function readEnum<T extends string>(args: string[], allowed: readonly T[]): T {
  arity(args, 1, `one of: ${allowed.join(', ')}`);
  const v = args[0]!.toLowerCase() as T;
  if (!allowed.includes(v)) throw new Error(`"${args[0]}" is not one of: ${allowed.join(', ')}`);
  return v;
}

export const yesNo = (b: boolean) => (b ? 'yes' : 'no');

type BoolPath = (d: Deployment) => { get(): boolean; set(v: boolean): void };

export function boolDirective(name: string, section: Section, at: BoolPath, aliases: string[] = []): DirectiveSpec {
  return {
    name,
    aliases,
    section,
    read: (d, args) => at(d).set(readYesNo(args)),
    render: (d) => [[yesNo(at(d).get())]],
  };
}

export function intDirective(
  name: string,
  section: Section,
  min: number,
  max: number,
  get: (d: Deployment) => number,
  set: (d: Deployment, v: number) => void,
  aliases: string[] = [],
  /** 'read': the value may carry Redis size units; 'units': also rendered with them */
  size: 'no' | 'read' | 'units' = 'no',
): DirectiveSpec {
  return {
    name,
    aliases,
    section,
    read: (d, args) => {
      if (size !== 'no') {
        arity(args, 1, 'one size');
        set(d, readSizeArg(args[0]!));
      } else set(d, readInt(args, min, max));
    },
    render: (d) => [[size === 'units' ? formatRedisSize(get(d)) : String(get(d))]],
  };
}

export const field =
  <T>(get: (d: Deployment) => T, set: (d: Deployment, v: T) => void) =>
  (d: Deployment) => ({
    get: () => get(d),
    set: (v: T) => set(d, v),
  });

export const BUFFER_CLASSES = { normal: 'normal', replica: 'replica', slave: 'replica', pubsub: 'pubsub' } as const;
