/**
 * Module data in a backup, and whether a target can take it. A server that meets a module AUX record
 * or a module-type value (RDB type 7) of a module it has not loaded exits while loading ("The RDB file
 * contains AUX module data I can't load: no matching module"), after dropping its own data: so the
 * modules a backup needs are compared with the target's `MODULE LIST` before anything changes.
 *
 * A module type name (9 characters, in the top bits of the type id) is not the module's name
 * (`ReJSON-RL` is registered by the module `ReJSON`, or by Valkey's `json`); the servers have no
 * command that lists registered types, so the types of the well-known modules are a table, and a
 * type outside it is taken as provided when the target has some module loaded that the table does
 * not account for (said in a note), and refused when it has none.
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { decodeValue, RdbFormatError, RdbUnsupportedError, rdbVerifier } from '../rdb/index.js';
import { BackupIntegrityError, type RestoreSource } from './source.js';
import { inspectCommand, type TargetCommands } from './target.js';

/** RDB type 7 (MODULE_2); type 6 (MODULE, pre-4.0 RCs) is refused by the parser */
const MODULE_VALUE_TYPE = '7';
/** values larger than this are not read whole for their type name (a module value's name is its first 9 bytes) */
const NAME_READ_MAX_BYTES = 16 << 20;

/** module type name -> names of the modules that register it (Redis Stack / Redis 8 modules, Valkey's) */
const MODULES_OF_TYPE: Record<string, readonly string[]> = {
  'ReJSON-RL': ['ReJSON', 'json'],
  'MBbloom--': ['bf'],
  MBbloomCF: ['bf'],
  'TopK-TYPE': ['bf'],
  'CMSk-TYPE': ['bf'],
  'TDIS-TYPE': ['bf'],
  bloomfltr: ['bf'],
  'TSDB-TYPE': ['timeseries'],
  ft_index0: ['search'],
  ft_invidx: ['search'],
  ft_index: ['search'],
  graphdata: ['graph'],
};

export interface ModuleNeeds {
  /** module type names of the backup's MODULE_AUX records */
  aux: string[];
  /** module type names of the backup's module-type values, with their key counts */
  values: Record<string, number>;
  /** module values too large to read their type name from (counted, not named) */
  unnamedValues: number;
}

export function hasModuleNeeds(needs: ModuleNeeds): boolean {
  return needs.aux.length > 0 || Object.keys(needs.values).length > 0 || needs.unnamedValues > 0;
}

/**
 * What module data the backup holds (a replace's view: a damaged file is refused as such, nothing
 * changed). From its manifest when it records module AUX names and counts
 * no module values; otherwise by one parse of the whole backup (before any target changes; a damaged
 * file fails here).
 */
export async function sourceModuleNeeds(source: RestoreSource): Promise<ModuleNeeds> {
  const keyspace = source.manifest?.keyspace;
  if (keyspace?.moduleAux !== undefined && keyspace.types !== undefined && !(Number(keyspace.types[MODULE_VALUE_TYPE] ?? 0) > 0)) {
    return { aux: [...keyspace.moduleAux], values: {}, unnamedValues: 0 };
  }
  try {
    return await scanModuleNeeds(source);
  } catch (error) {
    if (error instanceof RdbFormatError && !(error instanceof RdbUnsupportedError))
      throw new BackupIntegrityError(`${error.message}. The backup is damaged; nothing was changed`);
    throw error;
  }
}

export async function scanModuleNeeds(source: RestoreSource): Promise<ModuleNeeds> {
  const aux = new Set<string>();
  const values: Record<string, number> = {};
  let unnamedValues = 0;
  const verifier = rdbVerifier({
    source: source.file,
    rawValues: { maxBytes: NAME_READ_MAX_BYTES },
    onModuleAux: (a) => aux.add(a.moduleName),
    onRecord: (r) => {
      if (String(r.type) !== MODULE_VALUE_TYPE) return;
      if (!r.value) {
        unnamedValues++;
        return;
      }
      const decoded = decodeValue(r.type, r.value);
      if (decoded.kind === 'module') values[decoded.value.moduleName] = (values[decoded.value.moduleName] ?? 0) + 1;
    },
  });
  await pipeline(source.open(), verifier, new Writable({ write: (_chunk, _encoding, done) => done() }));
  return { aux: [...aux].sort(), values, unnamedValues };
}

/** The names of the modules the target has loaded (`MODULE LIST`). */
export async function targetModules(client: TargetCommands): Promise<string[]> {
  // each module a flat [name, N, ver, V, ...] list
  const modules = await inspectCommand('MODULE LIST', () => client.sendCommand<unknown[][]>(['MODULE', 'LIST']));
  return modules.map((m) => String(m[m.indexOf('name') + 1]));
}

export interface ModuleVerdict {
  ok: boolean;
  /** one line for a plan or a refusal */
  message: string;
  /** a type the table does not know, taken as provided by one of the target's modules */
  note?: string;
}

/**
 * Whether a target with `loaded` modules can take `needs`. `valuesOnly`: a merge writes values, not
 * the module AUX records (a module's global state), so only the value types count there.
 */
export function moduleVerdict(needs: ModuleNeeds, loaded: readonly string[], options: { valuesOnly?: boolean } = {}): ModuleVerdict | undefined {
  const types = new Set<string>(Object.keys(needs.values));
  if (!options.valuesOnly) for (const t of needs.aux) types.add(t);
  if (types.size === 0 && needs.unnamedValues === 0) return undefined;
  const loadedSet = new Set(loaded);
  const described = describeNeeds(needs, options.valuesOnly === true);
  const has = loaded.length > 0 ? `the target's modules: ${loaded.join(', ')}` : 'the target has no module loaded (MODULE LIST is empty)';
  const missing: string[] = [];
  const unknown: string[] = [];
  for (const type of [...types].sort()) {
    const providers = MODULES_OF_TYPE[type];
    if (providers) {
      if (!providers.some((m) => loadedSet.has(m))) missing.push(`${type} (module ${providers.join(' or ')})`);
    } else unknown.push(type);
  }
  const unaccounted = loaded.filter((m) => !Object.values(MODULES_OF_TYPE).some((ps) => ps.includes(m)));
  if ((unknown.length > 0 || needs.unnamedValues > 0) && unaccounted.length === 0) {
    for (const type of unknown) missing.push(`${type} (a module type this tool cannot map to a module name)`);
    if (needs.unnamedValues > 0) missing.push(`${needs.unnamedValues} module value(s) too large to read their type`);
  }
  if (missing.length > 0) {
    return {
      ok: false,
      message: `the backup needs modules the target lacks: ${missing.join(', ')}; ${has}. A server that meets module data it has no module for exits while loading, having dropped its data. Load the module on the target (loadmodule) first. The backup holds ${described}`,
    };
  }
  const note =
    unknown.length > 0 || needs.unnamedValues > 0
      ? `module type(s) ${[...unknown, ...(needs.unnamedValues > 0 ? [`of ${needs.unnamedValues} large value(s)`] : [])].join(', ')} taken as provided by the target's ${unaccounted.join(', ')}`
      : undefined;
  return { ok: true, message: `modules: the backup holds ${described}; ${has}`, ...(note ? { note } : {}) };
}

function describeNeeds(needs: ModuleNeeds, valuesOnly: boolean): string {
  const parts: string[] = [];
  if (!valuesOnly && needs.aux.length > 0) parts.push(`module AUX data of ${needs.aux.join(', ')}`);
  const values = Object.entries(needs.values)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([t, n]) => `${n} ${t}`);
  if (needs.unnamedValues > 0) values.push(`${needs.unnamedValues} of unread type`);
  if (values.length > 0) parts.push(`module values (${values.join(', ')})`);
  return parts.join(' and ') || 'no module data';
}
