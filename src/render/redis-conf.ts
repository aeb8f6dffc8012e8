/**
 * redis.conf from the model: deterministic, grouped by the guide's sections, free of machine paths
 * (the data directory and the ACL file are passed to redis-server as arguments by whoever runs it).
 */
import { DIRECTIVES, SECTIONS, type Section } from '../config/directives.js';
import type { Deployment } from '../config/schema.js';
import { formatLine } from '../config/redis-conf-syntax.js';

const SECTION_NOTES: Partial<Record<Section, string[]>> = {
  Security: ['Users and password hashes live in users.acl, which is passed as `--aclfile <path>`.', 'No password is ever written to this file.'],
};

export function renderRedisConf(d: Deployment): string {
  const out: string[] = [
    '# Redis configuration for NeuralLog',
    `# Rendered by neurallog-redis from the "${d.profile}" profile for ${d.engine === 'valkey' ? 'Valkey' : 'Redis'} ${d.version}. Edit the model, not this file.`,
    '# Machine paths (dir, aclfile, pidfile) are passed as redis-server arguments.',
  ];
  for (const section of SECTIONS) {
    const lines = DIRECTIVES.filter((s) => s.section === section).flatMap((spec) => spec.render(d).map((args) => formatLine(spec.name, args)));
    const notes = SECTION_NOTES[section] ?? [];
    if (lines.length === 0 && notes.length === 0) continue;
    out.push('', `# ${section}`, ...notes.map((n) => `# ${n}`), ...lines);
  }
  if (d.extraDirectives.length > 0) {
    out.push('', '# Additional directives');
    for (const { name, args } of d.extraDirectives) out.push(formatLine(name, args));
  }
  return `${out.join('\n')}\n`;
}
