/**
 * Deterministic YAML for rendered manifests and compose files.
 *
 * - Key order is the order the renderer built each object in, except that `apiVersion`, `kind` and
 *   `metadata` always come first (and `name`, `namespace`, `labels`, `annotations` first inside
 *   `metadata`); maps whose keys are data (labels, ConfigMap data) are sorted by the renderer.
 * - Strings are quoted whenever a YAML 1.1 reader (kubectl's sigs.k8s.io/yaml, Python's PyYAML in
 *   docker-compose) could read them as something else: `yes`, `on`, `0600`, `1e3`, `~`, ...
 * - Multi-line strings (a redis.conf) are literal blocks, so the text inside is byte for byte the
 *   text rendered; lines are never folded.
 * - `undefined` values are dropped, so renderers can write optional fields inline.
 */
import { Document, visit, type Scalar } from 'yaml';

const FIRST_KEYS = ['apiVersion', 'kind', 'metadata'];
const FIRST_METADATA_KEYS = ['name', 'namespace', 'labels', 'annotations'];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json | undefined };

function ordered(value: unknown, parentKey?: string): unknown {
  if (Array.isArray(value)) return value.map((v) => ordered(v));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  const first = parentKey === 'metadata' ? FIRST_METADATA_KEYS : FIRST_KEYS;
  const rank = (key: string) => {
    const i = first.indexOf(key);
    return i < 0 ? first.length : i;
  };
  // Array.prototype.sort is stable: keys that are not "first" keep the order they were built in.
  entries.sort(([a], [b]) => rank(a) - rank(b));
  return Object.fromEntries(entries.map(([k, v]) => [k, ordered(v, k)]));
}

/** Strings a YAML 1.1 reader would not read back as the same string when written plain. */
function ambiguousIn11(text: string): boolean {
  return (
    /^(y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|~|null|Null|NULL|=|<<)$/.test(text) ||
    /^[-+]?(\d[\d_]*(\.[\d_]*)?|\.\d[\d_]*)([eE][-+]?\d+)?$/.test(text) ||
    /^[-+]?0[xob]?[\d_a-fA-F]+$/.test(text) ||
    /^[-+]?\d[\d_]*(:\d+)+(\.\d*)?$/.test(text) ||
    /^[-+]?\.(inf|Inf|INF|nan|NaN|NAN)$/.test(text) ||
    /^\d{4}-\d\d?-\d\d?/.test(text)
  );
}

export interface YamlOptions {
  /** comment lines put before the document (without `#`) */
  header?: readonly string[];
}

/** One YAML document. */
export function toYaml(value: Json | object, options: YamlOptions = {}): string {
  const doc = new Document(ordered(value));
  visit(doc, {
    Scalar(_key, node: Scalar) {
      if (typeof node.value !== 'string') return;
      if (node.value.includes('\n')) node.type = 'BLOCK_LITERAL';
      else if (ambiguousIn11(node.value)) node.type = 'QUOTE_DOUBLE';
    },
  });
  const body = doc.toString({ lineWidth: 0, minContentWidth: 0, indentSeq: true, defaultKeyType: 'PLAIN' });
  const header = (options.header ?? []).map((line) => (line ? `# ${line}` : '#')).join('\n');
  return header ? `${header}\n${body}` : body;
}

/** Several documents in one file, separated by `---`. */
export function toYamlStream(values: readonly (Json | object)[], options: YamlOptions = {}): string {
  const [first, ...rest] = values.map((v, i) => toYaml(v, i === 0 ? options : {}));
  return [first ?? '', ...rest.map((doc) => `---\n${doc}`)].join('');
}
