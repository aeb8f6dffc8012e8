export { takeBackup, type TakeBackupOptions, type BackupResult, type BackupSource, type BackupProgress } from './take.js';
export { verifyBackup, type VerifyResult, type VerifyOptions } from './verify.js';
export { listBackups, planPrune, applyPrune, type CatalogEntry, type RetentionPolicy, type PrunePlan } from './catalog.js';
export { readManifest, type Manifest } from './manifest.js';
export { readKeyFile, keyId, createDecryptStream, createEncryptStream } from './encryption.js';
export { createDecompressStream, createCompressStream } from './compression.js';
export { layersFromName, manifestPathFor, type Compression } from './naming.js';
export { storedLayers, wrongKeyReason, openPlainRdb, type StoredLayers } from './layers.js';
export { sha256OfFile } from './file-digest.js';
