export { diffDeployment, type DriftReport, type DirectiveDrift } from './diff.js';
export { applyDeployment, type ApplyResult, type ApplyOptions } from './apply.js';
export { resolveDriftSource, type DriftSource, type DriftSourceOptions } from './source.js';
export { openSession, type Session } from './session.js';
export { normaliseValue, modelValues, liveValues, canonicalName, shownValue, SECRET_DIRECTIVES } from './directive-values.js';
export { changeKind, refusalKind, type Change } from './mutability.js';
export { hashPrefix, PROBE_USER, type UserDrift, type UserDifference } from './acl-drift.js';
