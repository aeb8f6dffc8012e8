/**
 * The items of an RDB that are neither keys nor database bookkeeping: AUX fields, module AUX data,
 * function libraries (FUNCTION2, and the 7.0 release candidates' FUNCTION). Counts them for the
 * summary and hands them to the caller's callbacks.
 */
import { CallbackFailure } from './errors.js';
import { readModuleFields, moduleTypeName } from './module.js';
import { ByteReader, STR_LZF } from './reader.js';
import { OP, type RdbLeanParserOptions, type RdbParserOptions } from './types.js';

export class MetaItems {
  readonly aux: Record<string, string> = {};
  functions = 0;
  moduleAux = 0;

  constructor(private readonly options: RdbParserOptions | RdbLeanParserOptions) {}

  /** reads the item of opcode `op` (AUX, MODULE_AUX, FUNCTION2 or FUNCTION_PRE_GA) whose opcode byte is at `at` */
  read(r: ByteReader, op: number, at: number): void {
    switch (op) {
      case OP.AUX: {
        const key = r.strBuf().toString('latin1');
        const value = r.strBuf();
        this.aux[key] = value.toString('utf8');
        const onAux = this.options.onAux;
        if (onAux) this.callback(() => onAux(key, value));
        return;
      }
      case OP.MODULE_AUX: {
        const moduleId = r.lenBig();
        const whenAt = r.pos;
        const whenOpcode = r.len();
        if (whenOpcode !== 2) r.fail(`MODULE_AUX "when" field has opcode ${whenOpcode}, not 2 (unsigned)`, whenAt);
        const when = r.len();
        const fieldsStart = r.pos;
        readModuleFields(r);
        this.moduleAux++;
        const onModuleAux = this.options.onModuleAux;
        if (onModuleAux) {
          const aux = {
            moduleId,
            moduleName: moduleTypeName(moduleId),
            encodingVersion: Number(moduleId & 1023n),
            when,
            bytes: r.buf.subarray(fieldsStart, r.pos),
            offset: r.base + at,
          };
          this.callback(() => onModuleAux(aux));
        }
        return;
      }
      case OP.FUNCTION2: {
        r.str();
        this.functions++;
        const onFunction = this.options.onFunction;
        if (onFunction) {
          const code = r.lastBuf();
          this.callback(() => onFunction(code, r.base + at));
        } else if (r.sEnc === STR_LZF) r.checkLzf();
        return;
      }
      case OP.FUNCTION_PRE_GA: {
        // 7.0 release candidates: name, engine, has-description, [description], code
        const name = r.strBuf();
        const engine = r.strBuf();
        if (r.len() !== 0) r.skipStr();
        const body = r.strBuf();
        this.functions++;
        const onFunction = this.options.onFunction;
        if (onFunction) {
          const code = Buffer.concat([Buffer.from(`#!${engine.toString('latin1')} name=${name.toString('latin1')}\n`, 'latin1'), body]);
          this.callback(() => onFunction(code, r.base + at));
        }
        return;
      }
    }
  }

  private callback(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      throw new CallbackFailure(error);
    }
  }
}
