export {
  identifyFromInfo,
  identifyFromVersionOutput,
  identifyFromRdbAux,
  engineHas,
  describeEngine,
  engineTitle,
  compareVersions,
  versionParts,
  releaseLine,
  ENGINE_NAMES,
  type EngineIdentity,
  type EngineName,
} from './identity.js';
export { rdbVersionWritten, loadsRdb, rdbMagic, describeRdbVersion, type RdbLoadVerdict } from './rdb-versions.js';
export { locateServer, serverBinaryIdentity, type LocatedServer } from './binaries.js';
